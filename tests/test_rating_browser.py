"""The rating page in a real browser: Debian's headless Chromium driven by Selenium.

A rater opens their link, rates with the mouse and with the keyboard, reloads the page,
resumes where they left off, and the stored votes are exactly those cast, mapped back
to the methods behind each side. CI installs ``chromium`` and ``chromium-driver``
(``.ci/run``) and sets ``VCD_REQUIRE_BROWSER=1``, so there the test cannot skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest

from vcd.human_study import rater_plan
from vcd.rating_app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

if not (CHROMIUM and DRIVER):
    if os.environ.get("VCD_REQUIRE_BROWSER"):
        raise RuntimeError("VCD_REQUIRE_BROWSER is set but chromium / chromedriver are not installed")
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture()
def server(study_project):
    from werkzeug.serving import make_server

    layout, settings, study = study_project
    app = create_app(layout)
    tokens = app.config["store"].ensure_raters(1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", app.config["store"], tokens[1], study
    httpd.shutdown()


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_a_rater_rates_with_mouse_and_keyboard_reloads_and_resumes(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, store, token, study = server
    criteria = list(study["criteria"])
    total = len(study["trials"])
    plan = rater_plan(study, 1)
    wait = WebDriverWait(browser, 20)

    def at_trial(n: int) -> None:
        wait.until(ec.text_to_be_present_in_element((By.ID, "counter"), f"Trial {n} of {total}"))

    def saved_votes(count: int) -> None:
        wait.until(lambda _: len(store.votes()) == count)

    def attribute(element_id: str, name: str):
        # read in one script call: the page re-renders its buttons after every vote
        return browser.execute_script(f"return document.getElementById({element_id!r}).getAttribute({name!r})")

    browser.get(f"{url}/rate/{token}")
    at_trial(1)
    assert browser.find_element(By.ID, "prompt").text == next(
        t["prompt"] for t in study["trials"] if t["id"] == plan[0].trial
    )
    # both videos load and play (Chromium decodes the pipeline's H.264 files)
    wait.until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('video')].every(v => v.readyState >= 2 && !v.paused)"
        )
    )
    assert attribute("next", "disabled") is not None  # nothing answered yet
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#questions tr')].map(r => r.cells[0].textContent)"
    )
    assert shown == list(study["criteria"].values())  # the study's questions, in its order

    # trial 1 with the mouse
    for criterion, choice in zip(criteria, ("A", "Tie", "B")):
        browser.find_element(By.ID, f"q-{criterion}-{choice}").click()
        wait.until(lambda _, c=criterion, ch=choice: attribute(f"q-{c}-{ch}", "aria-pressed") == "true")
    saved_votes(3)
    browser.find_element(By.ID, "next").click()
    at_trial(2)

    # trial 2 with the keyboard: 1 / 2 / 3 answer the highlighted question, which moves on
    body = browser.find_element(By.TAG_NAME, "body")
    for key, count in (("1", 4), ("t", 5), ("3", 6)):
        body.send_keys(key)
        saved_votes(count)
    wait.until(lambda _: attribute("next", "disabled") is None)
    body.send_keys(Keys.ENTER)
    at_trial(3)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("b")  # one question of trial 3, then the rater leaves
    saved_votes(7)

    browser.refresh()
    at_trial(3)  # resumes at the first trial with an unanswered question
    wait.until(lambda _: attribute(f"q-{criteria[0]}-B", "aria-pressed") == "true")
    assert "2 complete" in browser.find_element(By.ID, "done").text
    browser.find_element(By.ID, "prev").click()
    at_trial(2)
    wait.until(lambda _: attribute(f"q-{criteria[1]}-Tie", "aria-pressed") == "true")

    cast = {
        (plan[0].trial, criteria[0]): "A",
        (plan[0].trial, criteria[1]): "Tie",
        (plan[0].trial, criteria[2]): "B",
        (plan[1].trial, criteria[0]): "A",
        (plan[1].trial, criteria[1]): "Tie",
        (plan[1].trial, criteria[2]): "B",
        (plan[2].trial, criteria[0]): "B",
    }
    stored = {(v["trial"], v["criterion"]): v for v in store.votes(history=True)}
    assert {k: v["choice"] for k, v in stored.items()} == cast
    views = {p.trial: p for p in plan[:3]}
    for (trial, _), vote in stored.items():
        view = views[trial]
        assert (vote["left"], vote["right"]) == (view.left, view.right)
        assert vote["winner"] == {"A": view.left, "B": view.right, "Tie": "tie"}[vote["choice"]]
