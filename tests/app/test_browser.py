"""A person using the page: headless Debian chromium runs an example workflow and sees metrics and plots."""

from __future__ import annotations

import re
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


def test_running_an_example_shows_the_metrics_table_and_a_plot(shared_server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(shared_server.url, wait_until="networkidle")
            page.get_by_role("tab", name="Workflow JSON").click()
            page.locator("#run-workflow").click()
            completed = page.get_by_text("Completed", exact=False)
            failed = page.get_by_text("Failed:", exact=False)
            expect(completed.or_(failed).first).to_be_visible(timeout=90_000)
            page.screenshot(path=str(ARTIFACTS / "browser-workflow.png"), full_page=True)
            visible_failures = [f.inner_text() for f in failed.all() if f.is_visible()]
            assert visible_failures == [], visible_failures
            metrics = page.locator(".metrics:visible").first
            expect(metrics).to_contain_text("Accuracy", timeout=10_000)
            values = re.findall(r"\b[01]\.\d+\b", metrics.inner_text())
            assert values, metrics.inner_text()
            assert all(0.0 <= float(v) <= 1.0 for v in values)
            image = page.locator(".plots img:visible").first
            expect(image).to_be_visible(timeout=10_000)
            assert page.locator(".plots img:visible").evaluate_all("imgs => imgs.filter(i => i.naturalWidth > 0).length") >= 1
            page.screenshot(path=str(ARTIFACTS / "browser-workflow.png"), full_page=True)
        finally:
            browser.close()
