"""A person using the page: headless Debian chromium runs an example workflow and sees metrics and plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import ROOT, Server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.network_server,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: run .ci/install-browser"),
]


def test_running_an_example_shows_the_metrics_table_and_a_plot(idle_server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(idle_server.url, wait_until="networkidle")
            page.get_by_role("tab", name="Workflow JSON").click()
            page.locator("#run-workflow").click()
            completed = page.get_by_text("Completed", exact=False)
            failed = page.get_by_text("Failed:", exact=False)
            expect(completed.or_(failed).first).to_be_visible(timeout=90_000)
            page.screenshot(path=str(ARTIFACTS / "browser-workflow.png"), full_page=True)
            assert failed.count() == 0, page.locator(".prose").all_inner_texts()
            cells = page.locator(".metrics table tbody td")
            expect(cells.first).to_be_visible(timeout=10_000)
            assert cells.count() >= 2
            first_metric_value = cells.nth(1).inner_text()
            assert float(first_metric_value) == pytest.approx(float(first_metric_value))
            image = page.locator(".plots img").first
            expect(image).to_be_visible(timeout=10_000)
            assert page.locator(".plots img").evaluate_all("imgs => imgs.filter(i => i.naturalWidth > 0).length") >= 1
            page.screenshot(path=str(ARTIFACTS / "browser-workflow.png"), full_page=True)
        finally:
            browser.close()
