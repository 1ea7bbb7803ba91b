"""The one path of a limit: JobSpec (encoded once, decoded once) and LimitPlan (every number and
sentence derived from the limits), the Outcome that carries a result undecoded, and the runner's
messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandbox import GuardLimits, JobLimits, JobSpec, LimitDetail, LimitPlan, Outcome
from sandbox.errors import ErrorCode
from sandbox.plan import CALLER_BUDGET, EXACT_ABOVE
from sandbox.protocol import ExitReport, RunnerSpec

_MB = 1 << 20
JOB = JobLimits(wall_clock_seconds=200, cpu_seconds=360, memory_mb=640, max_processes=64, max_file_size_mb=64,
                max_result_mb=48, threads=2)
GUARDS = GuardLimits()


def _spec(**over: object) -> JobSpec:
    fields: dict[str, object] = {"job_id": "j1", "target": "m:f", "tmpdir": "/tmp/x", "env": {"PATH": "/bin"},
                                 "threads": 2, "job": JOB, "guards": GUARDS, "requested_seconds": 12.5}
    return JobSpec(**{**fields, **over})


# -- JobSpec ------------------------------------------------------------------------------------


def test_a_spec_decodes_to_the_spec_that_was_encoded() -> None:
    spec = _spec(cgroup_procs="/sys/fs/cgroup/x/cgroup.procs", fault_injection=True)
    again = JobSpec.decode(spec.encode())
    assert again == spec
    assert again.plan == spec.plan and again.plan.job.memory_mb == 640


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.replace(b'"memory_mb":640', b'"memory_mb":"640"'), "memory_mb"),  # strict: no coercion
        (lambda d: d.replace(b'"memory_mb":640', b'"memory_mb":-1'), "memory_mb"),
        (lambda d: d.replace(b'"job_id":"j1"', b'"job_id":"j1","surprise":1'), "surprise"),
        (lambda d: d.replace(b'"threads":2,"job"', b'"threads":0,"job"'), "threads"),
        (lambda d: d[:-1], "json"),
    ],
    ids=["wrong-type", "negative", "unknown-key", "no-threads", "truncated"],
)
def test_a_spec_that_is_not_a_valid_spec_is_refused(mutate, match) -> None:
    data = mutate(_spec().encode())
    with pytest.raises(ValidationError, match=f"(?i){match}"):
        JobSpec.decode(data)


def test_a_spec_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        _spec().job_id = "other"  # type: ignore[misc]


# -- LimitPlan: the wall clock and the limit a failure names -----------------------------------

# code, job wall clock, caller's budget, expected detail (None = not a limit)
DETAILS = [
    (ErrorCode.MEMORY_EXCEEDED, 200, None, {"name": "memory_mb", "value": 640, "unit": "MB"}),
    (ErrorCode.CPU_TIME_EXCEEDED, 200, 5.0, {"name": "cpu_seconds", "value": 360, "unit": "s"}),
    (ErrorCode.PROCESS_LIMIT_EXCEEDED, 200, None, {"name": "max_processes", "value": 64, "unit": None}),
    (ErrorCode.FILE_SIZE_EXCEEDED, 200, None, {"name": "max_file_size_mb", "value": 64, "unit": "MB"}),
    (ErrorCode.RESULT_TOO_LARGE, 200, None, {"name": "max_result_mb", "value": 48, "unit": "MB"}),
    (ErrorCode.TIMEOUT, 200, None, {"name": "wall_clock_seconds", "value": 200.0, "unit": "s"}),
    (ErrorCode.TIMEOUT, 200, 250.0, {"name": "wall_clock_seconds", "value": 200.0, "unit": "s"}),
    (ErrorCode.TIMEOUT, 200, 200.0, {"name": "wall_clock_seconds", "value": 200.0, "unit": "s"}),
    (ErrorCode.TIMEOUT, 200, 37.12345, {"name": CALLER_BUDGET, "value": 37.123, "unit": "s"}),
    (ErrorCode.TIMEOUT, 0, 37.0, {"name": CALLER_BUDGET, "value": 37.0, "unit": "s"}),
    (ErrorCode.TIMEOUT, 200, 0.0, {"name": CALLER_BUDGET, "value": 0.0, "unit": "s"}),
    (ErrorCode.CRASHED, 200, 5.0, None),
    (ErrorCode.INTERNAL_ERROR, 200, None, None),
    (None, 200, None, None),
]


@pytest.mark.parametrize(("code", "wall", "requested", "expected"), DETAILS)
def test_a_failure_names_the_limit_it_hit_and_whether_the_caller_budget_was_tighter(
    code, wall, requested, expected
) -> None:
    plan = LimitPlan(JOB.model_copy(update={"wall_clock_seconds": wall}), GUARDS, requested)
    detail = plan.limit_detail(code)
    assert (detail.to_dict() if detail else None) == expected
    if detail is not None:
        assert detail.caller_budget is (detail.name == CALLER_BUDGET)
        assert LimitDetail.of(code.value, plan.job, requested) == detail  # the service's fallback: the same answer


@pytest.mark.parametrize(
    ("wall", "requested", "budget"),
    [(200, None, 200), (200, 12.5, 12.5), (200, 300, 200), (0, None, None), (0, 7, 7)],
)
def test_the_budget_is_the_tighter_of_the_job_limit_and_the_callers(wall, requested, budget) -> None:
    assert LimitPlan(JOB.model_copy(update={"wall_clock_seconds": wall}), GUARDS, requested).budget_seconds == budget


# -- LimitPlan: ceilings, the watchdog, the status -----------------------------------------------


@pytest.mark.parametrize(
    ("memory_mb", "headroom", "data", "as_"),
    [
        (640, 1024, ((1 << 28) + 640 * _MB, (1 << 28) + (640 + 1024) * _MB), (1 << 30) + (640 + 1024) * _MB),
        (640, 0, ((1 << 28) + 640 * _MB, (1 << 28) + 640 * _MB), None),
        (0, 1024, None, None),
    ],
    ids=["memory+headroom", "no-headroom", "no-memory-limit"],
)
def test_the_memory_ceilings_are_the_same_for_setrlimit_and_for_status(memory_mb, headroom, data, as_) -> None:
    plan = LimitPlan(JOB.model_copy(update={"memory_mb": memory_mb}),
                     GUARDS.model_copy(update={"address_space_headroom_mb": headroom}))
    rlimits = plan.rlimits(vm_size=1 << 30, vm_data=1 << 28, uid=1000, user_tasks=10)
    assert rlimits.get("RLIMIT_DATA") == data
    assert rlimits.get("RLIMIT_AS", (None, None))[0] == as_
    calibrated = plan.calibrated(vm_size=1 << 30, vm_data=1 << 28)
    assert calibrated.get("rlimit_data_mb") == (round(data[0] / _MB) if data else None)
    assert calibrated.get("rlimit_as_mb") == (round(as_ / _MB) if as_ else None)
    assert rlimits["RLIMIT_NPROC"] == (74, 74) and rlimits["RLIMIT_CORE"] == (0, 0)
    assert plan.enforcement(root=False)["rlimit_data"][0] is bool(memory_mb)


def test_root_gets_no_nproc_limit_and_its_layer_says_why() -> None:
    plan = LimitPlan(JOB, GUARDS)
    assert "RLIMIT_NPROC" not in plan.rlimits(vm_size=0, vm_data=0, uid=0, user_tasks=10)
    active, text = plan.enforcement(root=True)["rlimit_nproc"]
    assert not active and "root" in text


@pytest.mark.parametrize(
    ("tasks", "uss_mb", "code"),
    [(64, 640, None), (65, 0, ErrorCode.PROCESS_LIMIT_EXCEEDED), (1, 641, ErrorCode.MEMORY_EXCEEDED)],
)
def test_the_watchdog_stops_past_the_limits_and_says_which(tasks, uss_mb, code) -> None:
    plan = LimitPlan(JOB, GUARDS)
    stop = plan.tasks_stop(tasks) or plan.memory_stop(uss_mb * _MB)
    assert (stop.code if stop else None) == code
    if stop is not None:
        assert str(64 if code == ErrorCode.PROCESS_LIMIT_EXCEEDED else 640) in stop.message


def test_the_exact_memory_read_starts_near_the_limit_and_never_without_one() -> None:
    plan = LimitPlan(JOB, GUARDS)
    assert not plan.needs_exact(EXACT_ABOVE * 640 * _MB)
    assert plan.needs_exact(EXACT_ABOVE * 640 * _MB + 1)
    assert not LimitPlan(JOB.model_copy(update={"memory_mb": 0}), GUARDS).needs_exact(1 << 40)


def test_a_zero_limit_is_off_everywhere() -> None:
    off = JobLimits(wall_clock_seconds=0, cpu_seconds=0, memory_mb=0, max_processes=0, max_file_size_mb=0,
                    max_result_mb=0)
    plan = LimitPlan(off, GUARDS)
    assert plan.rlimits(vm_size=1, vm_data=1, uid=1000, user_tasks=1) == {"RLIMIT_CORE": (0, 0)}
    assert plan.calibrated(vm_size=1, vm_data=1) == {}
    assert plan.tasks_stop(10**6) is None and plan.memory_stop(1 << 50) is None
    assert plan.budget_seconds is None and plan.max_result_bytes == 0 and plan.memory_fraction(100) == 0.0
    layers = plan.enforcement(root=False)
    assert [name for name, (active, _) in layers.items() if active] == ["wall_clock"]  # the request deadline still applies


# -- Outcome ------------------------------------------------------------------------------------


def test_an_outcome_keeps_the_result_undecoded_until_its_value_is_read() -> None:
    out = Outcome(ok=True, job_id="j", result=b'{"status":"completed","x":1}', status="completed")
    assert out.status == "completed"
    assert out.value == {"status": "completed", "x": 1}
    assert out.value is out.value  # decoded once
    forged = Outcome(ok=True, job_id="j", result=b"{not json}", status="completed")  # nothing decoded yet
    assert forged.value is None


@pytest.mark.parametrize(
    ("value", "result", "status"),
    [({"status": "failed", "e": 1}, b'{"status":"failed","e":1}', "failed"), (5, b"5", None), (None, None, None)],
)
def test_an_outcome_built_from_a_value_carries_its_bytes_and_status(value, result, status) -> None:
    out = Outcome(ok=True, job_id="j", value=value)
    assert (out.result, out.status, out.value) == (result, status, value)


def test_an_outcome_with_a_limit_names_it_in_its_details() -> None:
    detail = LimitDetail("memory_mb", 640, "MB")
    out = Outcome(ok=False, job_id="j", code="memory_exceeded", limit=detail)
    assert out.details["limit"] == {"name": "memory_mb", "value": 640, "unit": "MB"}
    assert out.to_dict()["value"] is None


# -- the runner's messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        RunnerSpec(log_tail_bytes=8192, max_result_bytes=48 * _MB),
        ExitReport(exit_code=0, cpu_seconds=0.5, max_rss_kb=1024, wall_seconds=0.1, has_result=True,
                   result_status="completed", log_tail="tail"),
        ExitReport(signal=9, child_error={"code": "memory_exceeded", "message": "m"}, result_too_large=5 * _MB,
                   invalid_frames="a truncated frame (3 bytes)", processes_killed=2, data_growth_mb=12.5),
    ],
    ids=["runner-spec", "exit-ok", "exit-killed"],
)
def test_the_runners_messages_survive_the_wire(message: RunnerSpec | ExitReport) -> None:
    import orjson

    from sandbox.protocol import dumps

    assert type(message).from_message(orjson.loads(dumps(message.to_message()))) == message
