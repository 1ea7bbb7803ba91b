"""Regenerate docs/screenshots/: the page as a new user sees it, in headless Debian chromium at 1400 and 390 px.

    python bench/screenshots.py            # starts its own server (shipped limits, fault injection on)
    python bench/screenshots.py --url URL  # uses a running server (the queue shot needs fault injection)

Every shot is taken by driving the page like a person: pick, upload, press Train, wait, press Stop.
The README's "The page" section shows these files.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loopback import call_predict, start_server, stop_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_RUN = {
    "nodes": [
        {"id": "dataset-1", "type": "dataset", "config": {"dataset_id": "digits", "target_column": "target",
                                                          "problem_type": "classification"}},
        {"id": "split-2", "type": "split", "config": {"test_size": 0.2}},
        {"id": "model-3", "type": "model", "config": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 500},
                                                      "useCrossValidation": True, "cvFolds": 5}},
        {"id": "evaluate-4", "type": "evaluate", "config": {"selected_metrics": ["accuracy", "f1"]}},
    ],
    "edges": [{"id": "e1", "source": "dataset-1", "target": "split-2"}, {"id": "e2", "source": "split-2", "target": "model-3"},
              {"id": "e3", "source": "model-3", "target": "evaluate-4"}],
}
"""The review's long job: a 500-tree forest, 5-fold cross-validation."""


def messy_csv(path: Path, rows: int = 400) -> Path:
    """A Titanic-like file: an ID column, missing ages, free text, categories, dates."""
    rnd = random.Random(7)
    lines = ["PassengerId,Survived,Pclass,Name,Sex,Age,Fare,Embarked,BoardDate"]
    for i in range(1, rows + 1):
        survived = rnd.random() < 0.4
        sex = "female" if (rnd.random() < (0.7 if survived else 0.2)) else "male"
        age = "" if rnd.random() < 0.2 else str(rnd.randint(1, 80))
        name = f'"{rnd.choice(["Smith", "Jones", "Brown", "Taylor"])}, {"Mrs." if sex == "female" else "Mr."} John {i}"'
        lines.append(f"{i},{int(survived)},{rnd.choice([1, 2, 3])},{name},{sex},{age},{rnd.random() * 80:.2f},"
                     f"{rnd.choice('SCQ')},2024-0{rnd.randint(1, 9)}-{rnd.randint(10, 28)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def big_csv(path: Path, mb: int = 20) -> Path:
    rnd = random.Random(1)
    with path.open("w") as fh:
        fh.write("a,b,c,d,target\n")
        while fh.tell() < mb << 20:
            fh.write(",".join(f"{rnd.random():.6f}" for _ in range(4)) + f",{rnd.randint(0, 1)}\n")
    return path


class Shots:
    """A browser and the page of one server; each method leaves one or more PNGs in ``out``."""

    def __init__(self, browser: Any, url: str, out: Path, data: Path) -> None:
        self.browser, self.url, self.out, self.data = browser, url, out, data

    def page(self, viewport: dict[str, int] = WIDE) -> Any:
        page = self.browser.new_context(viewport=viewport).new_page()
        page.goto(self.url, wait_until="networkidle")
        return page

    def save(self, page: Any, name: str, *, full: bool = False) -> None:
        if full:  # images below the fold load lazily: bring each into view first
            for img in page.locator("img:visible").all():
                img.scroll_into_view_if_needed()
            page.evaluate("window.scrollTo(0, 0)")
        time.sleep(0.4)
        page.screenshot(path=str(self.out / name), full_page=full)
        print("wrote", self.out / name)

    def wait_done(self, page: Any, panel: str = "quick", text: str = "Completed") -> None:
        from playwright.sync_api import expect

        expect(page.locator(f"#{panel}-summary")).to_contain_text(text, timeout=240_000)

    def first_view(self) -> None:
        page = self.page()
        self.save(page, "01-first-view-1400.png")
        page.context.close()

    def upload_and_train(self) -> None:
        from playwright.sync_api import expect

        page = self.page()
        page.locator("#upload input[type=file]").set_input_files(str(messy_csv(self.data / "passengers.csv")))
        expect(page.locator("#preview")).to_contain_text("rows ×", timeout=20_000)
        self.save(page, "02-upload-preview-1400.png")
        page.locator("#plots-picker input").click()
        page.get_by_role("option", name="Feature Importance").click()
        page.keyboard.press("Escape")
        page.locator("#train-button").click()
        self.wait_done(page)
        self.save(page, "03-upload-trained-1400.png", full=True)
        page.context.close()

    def long_run_and_stop(self) -> None:
        from playwright.sync_api import expect

        page = self.page()
        page.get_by_role("tab", name="Workflow JSON").click()
        editor = page.locator("#editor .cm-content")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        editor.fill(json.dumps(LONG_RUN, indent=1))
        page.locator("#run-workflow").click()
        expect(page.locator("#json-progress")).to_contain_text("Training the model", timeout=60_000)
        time.sleep(6)
        self.save(page, "04-long-run-progress-1400.png")
        page.locator("#json-stop").click()
        self.wait_done(page, "json", "Stopped")
        self.save(page, "06-stopped-1400.png")
        page.context.close()

    def waiting_in_line(self) -> None:
        from playwright.sync_api import expect

        health = json.loads(__import__("httpx").get(f"{self.url}/health", timeout=10).text)
        slots = health["jobs"]["maxConcurrent"]
        sleep = json.dumps({"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "sleep", "seconds": 6}}],
                            "edges": []})
        holders = [threading.Thread(target=call_predict, args=(self.url, sleep), daemon=True) for _ in range(slots)]
        for holder in holders:
            holder.start()
        time.sleep(1.0)
        page = self.page()
        page.locator("#train-button").click()
        expect(page.locator("#quick-progress")).to_contain_text("in line", timeout=5_000)
        self.save(page, "05-waiting-in-line-1400.png")
        self.wait_done(page)
        page.context.close()
        for holder in holders:
            holder.join(30)

    def cross_validation(self) -> None:
        page = self.page()
        page.locator("#cv input").click()
        page.get_by_role("option", name="5 folds").click()
        page.locator("#ci input").check()
        page.locator("#train-button").click()
        self.wait_done(page)
        self.save(page, "07-cv-results-1400.png", full=True)
        page.context.close()

    def bad_uploads(self) -> None:
        from playwright.sync_api import expect

        png = self.data / "image.csv"
        png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
        for name, path in (("08-bad-upload-png-1400.png", png), ("09-bad-upload-20mb-1400.png",
                                                                  big_csv(self.data / "big.csv"))):
            page = self.page()
            page.locator("#upload input[type=file]").set_input_files(str(path))
            expect(page.locator("#upload-note")).to_be_visible(timeout=20_000)
            self.save(page, name)
            page.context.close()

    def health(self) -> None:
        page = self.page()
        page.get_by_role("tab", name="Health").click()
        page.get_by_text("Limits in force (limits.toml)").click()
        self.save(page, "10-health-1400.png", full=True)
        page.context.close()

    def phone(self) -> None:
        page = self.page(PHONE)
        self.save(page, "11-phone-first-view-390.png")
        page.locator("#train-button").click()
        self.wait_done(page)
        self.save(page, "12-phone-results-390.png", full=True)
        page.get_by_role("tab", name="Health").click()
        self.save(page, "13-phone-health-390.png")
        page.context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    server = None
    if not args.url:
        limits = (ROOT / "limits.toml").read_text().replace("fault_injection = false", "fault_injection = true")
        server = start_server(limits)
        args.url = server.url
    try:
        with tempfile.TemporaryDirectory() as data, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            shots = Shots(browser, args.url, args.out, Path(data))
            for step in (shots.first_view, shots.upload_and_train, shots.long_run_and_stop, shots.waiting_in_line,
                         shots.cross_validation, shots.bad_uploads, shots.health, shots.phone):
                step()
            browser.close()
    finally:
        if server is not None:
            stop_server(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
