"""limits.toml: the shipped file is valid, and every malformed case stops start-up clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import LIMITS_ENV_VAR, ConfigError, Settings, default_limits_path, load_settings

REPO = Path(__file__).resolve().parent.parent

BAD_FILES = [
    ("[job]\nmemory_mb = \"lots\"\n", "job.memory_mb = 'lots'"),
    ("[job]\nmemory_mb = -1\n", "job.memory_mb = -1"),
    ("[job]\nmemroy_mb = 100\n", "[job.memroy_mb]: unknown key"),
    ("[jobs]\nmemory_mb = 100\n", "[jobs]: unknown key"),
    ("[queue]\nmax_concurrent_jobs = 0\n", "queue.max_concurrent_jobs = 0"),
    ("[queue]\nrequest_deadline_seconds = 0\n", "queue.request_deadline_seconds = 0"),
    ("[guards]\nwatchdog_interval_ms = 500\n", "guards.watchdog_interval_ms = 500"),
    ("[queue]\nwarm_up = 1\n", "queue.warm_up = 1"),
    ("[testing]\nfault_injection = \"yes\"\n", "testing.fault_injection = 'yes'"),
    ("[job]\nthreads = 1.5\n", "job.threads = 1.5"),
    ("[job]\nwall_clock_seconds = true\n", "job.wall_clock_seconds = True"),
    ("[output]\nplot_dpi = 5\n", "output.plot_dpi = 5"),
    ("[search]\nbudget_fraction = 1.5\n", "search.budget_fraction = 1.5"),
    ("[job\nmemory_mb = 1\n", "not valid TOML"),
]


def test_shipped_limits_file_is_valid() -> None:
    settings = load_settings(REPO / "limits.toml")
    assert settings.job.memory_mb > 0
    assert settings.testing.fault_injection is False
    assert settings.source.endswith("limits.toml")


def test_shipped_file_sets_every_key_explicitly() -> None:
    """Operators read the file, not the code: every key of every table appears in it."""
    import tomllib

    raw = tomllib.loads((REPO / "limits.toml").read_text())
    for table, model in Settings.model_fields.items():
        if table == "source":
            continue
        section = model.annotation.model_fields  # type: ignore[union-attr]
        assert set(raw[table]) == set(section), table


@pytest.mark.parametrize("text, expected", BAD_FILES)
def test_malformed_limits_file_names_file_key_and_value(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


def test_environment_variable_selects_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "custom.toml"
    path.write_text("[job]\nmemory_mb = 123\n")
    monkeypatch.setenv(LIMITS_ENV_VAR, str(path))
    assert default_limits_path() == path
    assert load_settings().job.memory_mb == 123
