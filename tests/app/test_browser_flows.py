"""A new user's flows in headless Debian chromium: upload → preview → train → download, Stop, CV, bad uploads, 390 px.

One browser for the module and the session's shared server (tests/conftest.py: the shipped limits,
fault injection on); each test starts from an idle server and leaves it idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import Server, backend_call, fault
from tests.app.test_browser import ARGS, ARTIFACTS, CHROMIUM
from tests.app.test_page import messy_csv

pytestmark = [
    pytest.mark.browser,
    pytest.mark.network_server,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: run .ci/install-browser"),
]

TRAIN_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 30_000
"""How long a page may take to react (a preview, a note, a progress line): generous, since a
busy machine (CPU hogs, other test runs) slows the server and the browser alike; expect() returns
as soon as the text is there."""
HOLD_SECONDS = 20
"""How long the API jobs that take every slot sleep: the page's run must reach the line before they end."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser: Any, server: Server, width: int = 1400, height: int = 900) -> Any:
    server.wait_idle()
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    from playwright.sync_api import expect

    page.set_default_timeout(UI_TIMEOUT_MS)  # clicks, fills, waits: none may depend on an idle machine
    expect.set_options(timeout=UI_TIMEOUT_MS)  # and every expect() without a timeout of its own
    page.goto(server.url, wait_until="networkidle")
    return page


@pytest.fixture
def page(browser: Any, shared_server: Server) -> Iterator[Any]:
    page = open_page(browser, shared_server)
    try:
        yield page
    finally:
        page.context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"flow-{name}.png"), full_page=True)


def jobs(server: Server) -> dict[str, Any]:
    return server.health()["jobs"]


def test_upload_a_messy_csv_see_its_preview_train_and_download_a_model_that_predicts(page: Any, tmp_path: Path) -> None:
    import joblib
    import pandas as pd
    from playwright.sync_api import expect

    csv = tmp_path / "passengers.csv"
    csv.write_text(messy_csv())
    page.locator("#upload input[type=file]").set_input_files(str(csv))
    preview = page.locator("#preview")
    expect(preview).to_contain_text("60 rows × 9 columns", timeout=UI_TIMEOUT_MS)
    expect(preview).to_contain_text("PassengerId looks like a row identifier")
    expect(page.locator("#left-out")).to_contain_text("PassengerId")
    expect(page.locator("#target input")).to_have_value("Survived")
    expect(page.locator("#sample-picker")).to_contain_text("not used while an upload is in use")
    page.locator("#train-button").click()
    expect(page.locator("#quick-summary")).to_contain_text("Completed", timeout=TRAIN_TIMEOUT_MS)
    shot(page, "upload-trained")
    expect(page.locator("#quick-metrics")).to_contain_text("Accuracy")
    messages = page.locator("#quick-messages")
    expect(messages).to_contain_text("dropped 1 column(s): PassengerId")
    assert "[" not in page.locator("#quick-summary").inner_text()  # no node ids in the summary
    expect(page.locator("#quick-usage")).to_contain_text("joblib.load")
    with page.expect_download() as download:
        page.locator("#quick-model a[download]").first.click()
    model = joblib.load(download.value.path())
    rows = pd.read_csv(csv).drop(columns=["Survived", "PassengerId"]).head(3)
    assert len(model.predict(rows)) == 3


def test_a_csv_over_the_old_4_mb_inline_cap_is_previewed_and_trains_by_reference(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from tests.app.test_upload_reference import OLD_INLINE_CAP, numeric_csv

    csv = numeric_csv(tmp_path / "large.csv", rows=90_000)
    assert csv.stat().st_size > OLD_INLINE_CAP
    expect(page.locator("#upload")).to_contain_text("up to 100 MB")  # [data] max_dataset_mb of limits.toml
    page.locator("#upload input[type=file]").set_input_files(str(csv))
    expect(page.locator("#preview")).to_contain_text("about 90,000 rows × 7 columns", timeout=UI_TIMEOUT_MS)
    page.locator("#algorithm input").click()
    page.get_by_role("option", name="Decision Tree").click()
    page.locator("#train-button").click()
    expect(page.locator("#quick-summary")).to_contain_text("Completed", timeout=TRAIN_TIMEOUT_MS)
    shot(page, "large-upload-trained")


def test_stop_cancels_a_long_job_and_leaves_nothing_running(page: Any, shared_server: Server) -> None:
    server = shared_server
    from playwright.sync_api import expect

    before = jobs(server)["byCode"].get("cancelled", 0)
    page.get_by_role("tab", name="Workflow JSON").click()
    editor = page.locator("#editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    editor.fill(fault("sleep", seconds=30))
    page.locator("#run-workflow").click()
    progress = page.locator("#json-progress")
    expect(progress).to_contain_text("Running a test fault", timeout=UI_TIMEOUT_MS)
    expect(progress).to_contain_text("left before the")
    page.locator("#json-stop").click()
    summary = page.locator("#json-summary")
    expect(summary).to_contain_text("Stopped", timeout=UI_TIMEOUT_MS)
    expect(summary).to_contain_text("cancelled")
    shot(page, "stopped")
    state = jobs(server)
    assert state["running"] == 0 and state["waiting"] == 0
    assert state["byCode"].get("cancelled", 0) == before + 1
    expect(page.locator("#run-workflow")).to_be_enabled()


def test_a_waiting_run_shows_its_place_in_line_and_stop_takes_it_out(page: Any, shared_server: Server) -> None:
    from playwright.sync_api import expect

    server = shared_server
    slots = server.health()["jobs"]["maxConcurrent"]
    holders = [threading.Thread(target=backend_call, args=(server.url, fault("sleep", seconds=HOLD_SECONDS)), daemon=True)
               for _ in range(slots)]
    for holder in holders:  # API jobs take every slot
        holder.start()
    deadline = time.monotonic() + 10
    while jobs(server)["running"] < slots and time.monotonic() < deadline:
        time.sleep(0.05)
    page.locator("#train-button").click()
    progress = page.locator("#quick-progress")
    expect(progress).to_contain_text("1st in line", timeout=UI_TIMEOUT_MS // 2)
    expect(progress).to_contain_text(f"{slots} jobs running", timeout=UI_TIMEOUT_MS // 2)
    shot(page, "waiting")
    page.locator("#quick-stop").click()
    expect(page.locator("#quick-summary")).to_contain_text("cancelled", timeout=UI_TIMEOUT_MS)
    assert jobs(server)["waiting"] == 0
    for holder in holders:
        holder.join(HOLD_SECONDS + 30)


def test_a_cross_validated_run_shows_mean_plus_minus_std_without_an_empty_ci_column(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator("#cv input").click()
    page.get_by_role("option", name="5 folds").click()
    page.locator("#train-button").click()
    expect(page.locator("#quick-summary")).to_contain_text("5-fold cross-validation", timeout=TRAIN_TIMEOUT_MS)
    metrics = page.locator("#quick-metrics")
    expect(metrics).to_contain_text("±")
    assert "95% CI" not in metrics.inner_text()
    shot(page, "cv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(300), "This file is a PNG image, not a CSV text file"),
        (b"", "The file is empty"),
        (b"name\nanna\nbob\n", "The file has only one column"),
    ],
    ids=["png-renamed-csv", "empty", "one-column"],
)
def test_a_bad_upload_is_refused_at_upload_time_in_plain_words(page: Any, tmp_path: Path, content: bytes,
                                                               message: str) -> None:
    from playwright.sync_api import expect

    bad = tmp_path / "data.csv"
    bad.write_bytes(content)
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    note = page.locator("#upload-note")
    expect(note).to_contain_text(message, timeout=UI_TIMEOUT_MS)
    assert "\ufffd" not in page.locator("#target").inner_text()
    assert "Failed" not in page.locator("#quick-summary").inner_text()  # told before any Train
    shot(page, f"bad-upload-{len(content)}")


def test_the_page_works_at_390_px(browser: Any, shared_server: Server) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, shared_server, 390, 844)
    try:
        train = page.locator("#train-button")
        train.scroll_into_view_if_needed()
        train.click()
        expect(page.locator("#quick-summary")).to_contain_text("Completed", timeout=TRAIN_TIMEOUT_MS)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
        page.get_by_role("tab", name="Health").click()
        expect(page.locator("#health-status .status-chip")).to_be_visible()
        shot(page, "mobile-health")
    finally:
        page.context.close()
