"""The playground page in headless Chromium: type a filter, read the JSON, see a squiggle,
pick a completion. Needs Debian's chromium and chromium-driver (.ci/run installs them)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

if not (CHROMIUM and DRIVER) and os.environ.get("HELICONE_FILTER_BROWSER_TESTS") != "required":
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver); .ci/run installs them and requires this test",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    assert CHROMIUM and DRIVER, "chromium and chromedriver are required here"
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def _wait(driver: WebDriver, condition: object, what: str) -> None:
    # The page re-renders the completion list and the squiggles as answers arrive, so an
    # element found a moment ago may be gone: look again rather than fail.
    WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: condition(d),  # type: ignore[operator]
        message=what,
    )


def _click(driver: WebDriver, selector: str) -> bool:
    driver.find_element(By.CSS_SELECTOR, selector).click()
    return True


def test_the_playground_works_in_a_browser(base: str, browser: WebDriver) -> None:
    browser.get(base + "/")
    box = browser.find_element(By.ID, "filter")
    json_box = browser.find_element(By.ID, "json")
    _wait(browser, lambda d: "user_cost" in json_box.get_property("value"), "initial JSON")

    # Type a filter, read the JSON.
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys("cached and status >= 500")
    _wait(browser, lambda d: '"status"' in json_box.get_property("value"), "JSON for the filter")
    assert json.loads(json_box.get_property("value")) == {
        "left": {"request_response_rmt": {"cached": {"equals": True}}},
        "operator": "and",
        "right": {"request_response_rmt": {"status": {"gte": 500}}},
    }
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "text-back").text == "cached = true and status >= 500",
        "the JSON printed back as text",
    )

    # A bad field: a squiggle under it, with its message.
    box.send_keys(" and modle = 'x'")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mirror .error"), "a squiggle")
    squiggle = browser.find_element(By.CSS_SELECTOR, "#mirror .error")
    assert squiggle.get_attribute("textContent") == "modle"
    assert squiggle.get_attribute("title") == "unknown field 'modle'"

    # Pick a completion.
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys("user_co")
    first = "#completions li:first-child"
    _wait(
        browser,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, first)
            and d.find_element(By.CSS_SELECTOR, first).text.startswith("user_cost")
        ),
        "the completion list",
    )
    _wait(browser, lambda d: _click(d, first), "a click on the first completion")
    _wait(browser, lambda d: box.get_property("value") == "user_cost ", "the completion applied")
    _wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, first).text.startswith("="),
        "operators offered next",
    )

    shot = os.environ.get("HELICONE_FILTER_SCREENSHOT")
    if shot:  # how the README's picture is made
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(
            'user_cost > 5 and model contains "gpt_4" and request_created_at >= now - 7d '
        )
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mirror .warning"), "squiggle")
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, first), "completions")
        browser.save_screenshot(str(Path(shot)))
