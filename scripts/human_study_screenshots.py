"""The README's pictures of the human study: the rating page and the analysis figure.

* the rating page of rater 1 of the embedded study, as Debian's headless Chromium
  renders it, served from a temporary copy of the design and a temporary vote database
  (nothing is voted, nothing is kept);
* Fig. 8's layout drawn from the hand-made votes of the tests
  (``tests/fixtures/human_votes_fixture.csv``), labelled as a fixture: no human study
  has been run on this project's videos.

    python scripts/human_study_screenshots.py   # after `dvc repro evaluate`
    # -> docs/screenshots/rating_page.png, docs/screenshots/human_votes_fixture.png
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rating_page(layout, settings, target: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from werkzeug.serving import make_server

    from vcd.files import atomic_path, write_json
    from vcd.human_study import build_study
    from vcd.rating_app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        study = build_study(settings, layout)
        write_json(Path(tmp) / "study.json", study)
        app = create_app(layout, Path(tmp) / "study.json", Path(tmp) / "ratings.sqlite")
        token = app.config["store"].ensure_raters(1)[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        httpd = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,820", "--hide-scrollbars"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            driver.get(f"http://127.0.0.1:{port}/rate/{token}")
            deadline = time.time() + 20
            script = "return [...document.querySelectorAll('video')].every(v => v.readyState >= 2 && !v.paused)"
            while not driver.execute_script(script) and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(0.6)  # a few frames into the loop
            with atomic_path(target) as out:
                driver.save_screenshot(str(out))
        finally:
            driver.quit()
            httpd.shutdown()


def fixture_figure(settings, target: Path) -> None:
    import pandas as pd

    from vcd.figures import plot_human_votes, save_figure
    from vcd.human_analysis import significance, table4

    votes = pd.read_csv(REPO / "tests" / "fixtures" / "human_votes_fixture.csv", keep_default_na=False)
    votes = votes[votes.study == "fixture-study"]
    pairs = [("base", "vcd"), ("frame_consistency", "vcd")]
    questions = ["temporal_consistency", "motion_naturalness"]
    fig = plot_human_votes(
        table4(votes, pairs, questions),
        significance(votes),
        "FIXTURE: the hand-made test votes of tests/fixtures (3 raters, 24 votes), NOT a human study",
    )
    save_figure(
        fig, target, footer="Drawn by vcd.figures.plot_human_votes from a test fixture; no votes were collected"
    )


def main() -> int:
    sys.path.insert(0, str(REPO))
    from vcd.layout import Layout
    from vcd.settings import Settings

    layout = Layout(REPO)
    settings = Settings.load(layout.params_file)
    rating_page(layout, settings, layout.screenshot("rating_page"))
    fixture_figure(settings, layout.screenshot("human_votes_fixture"))
    print(layout.relative(layout.screenshot("rating_page")), layout.relative(layout.screenshot("human_votes_fixture")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
