"""The playground page in headless Chromium, driven as a person would: by the keyboard and the
mouse. Needs Debian's chromium and chromium-driver (.ci/run installs them).

`HELICONE_FILTER_SCREENSHOTS=DIR` writes the pictures in docs/ (1280 and 420 px wide) to DIR.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import serving
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from helicone_filter.facts.schema import FIELDS

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
        "--window-size=1280,900",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def _wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    # The page re-renders the list and the underlines as answers arrive, so an element found
    # a moment ago may be gone: look again rather than fail.
    return WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition, message=what
    )


def _open(driver: WebDriver, url: str, width: int = 1280) -> WebElement:
    # The page's width exactly (a window's would include its frame), as a phone would show it.
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get_log("browser")  # what the test before left
    driver.get(url)
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete", "load")
    box = driver.find_element(By.ID, "filter")
    _wait(driver, lambda d: "user_cost" in _value(d, "json") or "q=" in url, "the first JSON")
    # Nothing failed while loading (a script or style the Content-Security-Policy blocks, a
    # missing favicon); then each test starts with an empty console.
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    return box


def _value(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).get_property("value"))


def _type(driver: WebDriver, box: WebElement, text: str) -> None:
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def _options(driver: WebDriver) -> list[str]:
    return [
        li.find_element(By.CLASS_NAME, "label").text
        for li in driver.find_elements(By.CSS_SELECTOR, "#completions li[role=option]")
    ]


def _list_open(driver: WebDriver) -> bool:
    return not driver.find_element(By.ID, "completions").get_property("hidden")


def _problems(driver: WebDriver) -> list[tuple[str, str]]:
    return [
        (li.get_attribute("class") or "", li.find_element(By.CLASS_NAME, "msg").text)
        for li in driver.find_elements(By.CSS_SELECTOR, "#problems li")
    ]


def test_type_a_filter_read_the_json_sql_and_body(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "cached and status >= 500")
    _wait(browser, lambda d: '"status"' in _value(d, "json"), "JSON for the filter")
    assert json.loads(_value(browser, "json")) == {
        "left": {"request_response_rmt": {"cached": {"equals": True}}},
        "operator": "and",
        "right": {"request_response_rmt": {"status": {"gte": 500}}},
    }
    browser.find_element(By.ID, "tab-sql").click()
    sql = browser.find_element(By.ID, "sql")
    _wait(browser, lambda d: "`status` >=" in sql.text, "the SQL")
    browser.find_element(By.ID, "tab-body").click()
    body = json.loads(browser.find_element(By.ID, "body").text)
    assert body["filter"]["right"] == {"request_response_rmt": {"status": {"gte": 500}}}
    assert browser.find_element(By.ID, "curl").text.startswith(
        "curl -s https://api.helicone.ai/v1/user/metrics/query"
    )
    browser.find_element(By.ID, "tab-json").click()

    # A mistake: underlined, listed as an error with its hint; no JSON meanwhile.
    box.send_keys(" and modle = 'x'")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mirror .error"), "an underline")
    underline = browser.find_element(By.CSS_SELECTOR, "#mirror .error")
    assert underline.get_attribute("textContent") == "modle"
    assert ("error", "unknown field 'modle'") in _problems(browser)
    assert _value(browser, "json") == ""
    # Typing an invalid filter sends no request that fails: the console stays clean.
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_keyboard_tab_leaves_escape_closes_arrows_and_enter_pick(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "model ")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:2] == ["=", "!="], "operators")
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("role") == "combobox"

    # Escape closes the list; the text stays.
    box.send_keys(Keys.ESCAPE)
    _wait(browser, lambda d: not _list_open(d), "the list closed")
    assert box.get_attribute("aria-expanded") == "false"
    assert _value(browser, "filter") == "model "

    # Tab with the list open but not navigated leaves the box and changes nothing.
    box.send_keys("i")
    _wait(browser, lambda d: _list_open(d) and "ilike" in _options(d), "ilike, in")
    box.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") != "filter"
    assert _value(browser, "filter") == "model i"
    _wait(browser, lambda d: not _list_open(d), "the list closed on leaving")

    # Arrows move through the list (aria-activedescendant follows); Enter takes the item.
    box.click()
    box.send_keys(Keys.END, "l")  # "model il": ilike
    _wait(browser, lambda d: _list_open(d) and _options(d)[:1] == ["ilike"], "ilike first")
    _type(browser, box, "model ")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:2] == ["=", "!="], "operators")
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == "c-1"
    selected = browser.find_element(By.CSS_SELECTOR, "#c-1")
    assert selected.get_attribute("aria-selected") == "true"
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: _value(d, "filter") == "model != ", "!= taken")
    # After navigating, Tab takes the item too (and stays in the box).
    _wait(browser, lambda d: _list_open(d) and _options(d), "values offered")
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_UP, Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "filter"
    _wait(browser, lambda d: _value(d, "filter") != "model != ", "a value taken")


def test_the_list_opens_under_the_caret(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "user_cost > 5 and mod")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:1] == ["model"], "model offered")
    caret = browser.execute_script(
        MEASURE, box, len("user_cost > 5 and "), len("user_cost > 5 and m")
    )
    popup = browser.find_element(By.ID, "completions").rect
    assert caret["bottom"] <= popup["y"] <= caret["bottom"] + 6
    assert abs(popup["x"] - caret["left"]) <= 12


def test_a_field_just_picked_is_not_an_error(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "cached and mod")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:1] == ["model"], "model offered")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: _value(d, "filter") == "cached and model ", "model taken")
    _wait(browser, lambda d: _options(d)[:1] == ["="], "its operators offered")
    _wait(browser, lambda d: _problems(d), "the state shown")
    assert _problems(browser) == [("pending", "model: an operator comes next")]
    assert browser.find_elements(By.CSS_SELECTOR, "#mirror .error") == []
    # The same text with the caret elsewhere is a mistake again.
    box.send_keys(Keys.HOME, "x")
    _wait(browser, lambda d: any(c == "error" for c, _ in _problems(d)), "an error")

    # After a map's dot the list says why it offers nothing.
    _type(browser, box, "properties.")
    note = "#completions li.note"
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, note), "a note")
    assert "properties keys are your own names" in browser.find_element(By.CSS_SELECTOR, note).text


def test_warnings_look_unlike_errors(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, 'model contains "gpt_4" and cost => 1')
    _wait(browser, lambda d: len(_problems(d)) == 2, "two problems")
    error = browser.find_element(By.CSS_SELECTOR, "#mirror .error")
    warning = browser.find_element(By.CSS_SELECTOR, "#mirror .warning")
    style = "return getComputedStyle(arguments[0]).textDecorationStyle"
    assert browser.execute_script(style, error) == "wavy"
    assert browser.execute_script(style, warning) == "dotted"
    colour = "return getComputedStyle(arguments[0]).borderLeftColor"
    rows = browser.find_elements(By.CSS_SELECTOR, "#problems li")
    assert [r.find_element(By.CLASS_NAME, "tag").text for r in rows] == ["WARNING", "ERROR"]
    assert browser.execute_script(colour, rows[0]) != browser.execute_script(colour, rows[1])


def test_a_fix_it_click_corrects_the_text(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "modle = “gpt-4” and cost => 1")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "button.fix")) == 2, "fixes")
    buttons = browser.find_elements(By.CSS_SELECTOR, "button.fix")
    assert [b.text for b in buttons] == ['Fix: "gpt-4"', "Fix: >="]
    box.send_keys(Keys.ESCAPE)
    for _ in range(3):  # each click mends one mistake; the unknown field shows after the others
        before = _value(browser, "filter")
        browser.find_elements(By.CSS_SELECTOR, "button.fix")[0].click()
        _wait(browser, lambda d, b=before: _value(d, "filter") != b, "a fix applied")
        assert browser.switch_to.active_element.get_attribute("id") == "filter"
        _wait(
            browser,
            lambda d: (
                d.find_elements(By.CSS_SELECTOR, "button.fix") or '"cost"' in _value(d, "json")
            ),
            "the next",
        )
    _wait(browser, lambda d: '"cost"' in _value(d, "json"), "the JSON of the mended filter")
    assert _value(browser, "filter") == 'model = "gpt-4" and cost >= 1'


def test_the_share_link_restores_a_filter(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    text = 'user_cost > 5 and properties.env = "a b&c"'
    _type(browser, box, text)
    _wait(browser, lambda d: '"env"' in _value(d, "json"), "JSON")
    box.send_keys(Keys.ESCAPE)  # the list of what may follow would cover the buttons
    browser.find_element(By.ID, "share").click()
    _wait(browser, lambda d: "Copied the link" in d.find_element(By.ID, "copied").text, "copied")
    link = browser.current_url
    assert urllib.parse.unquote(link.split("#q=", 1)[1]) == text
    browser.get(base + "/")  # elsewhere, then the link
    _open(browser, link)
    _wait(browser, lambda d: _value(d, "filter") == text, "the filter restored")
    _wait(browser, lambda d: '"env"' in _value(d, "json"), "its JSON")


def test_typing_is_debounced_and_copy_buttons_say_what_they_did(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    count = """return performance.getEntriesByType("resource")
        .filter(e => e.name.endsWith("/diagnose")).length"""
    _type(browser, box, "")
    before = browser.execute_script(count)
    box.send_keys("user_cost > 5 and status >= 500 and cached")  # 42 keystrokes
    _wait(browser, lambda d: '"cached"' in _value(d, "json"), "the JSON")
    assert browser.execute_script(count) - before <= 5  # not one call a keystroke

    box.send_keys(Keys.ESCAPE)
    copied = browser.find_element(By.ID, "copied")
    browser.find_element(By.ID, "copy-curl").click()
    _wait(browser, lambda d: copied.text == "Copied the curl command", "copied")
    box.send_keys(" and modle = 1", Keys.ESCAPE)
    _wait(browser, lambda d: _value(d, "json") == "", "no JSON for a wrong filter")
    browser.find_element(By.ID, "copy-json").click()
    _wait(browser, lambda d: copied.text == "Nothing to copy: the filter has errors", "refused")


def test_editing_the_json_updates_the_text(base: str, browser: WebDriver) -> None:
    _open(browser, base + "/")
    json_box = browser.find_element(By.ID, "json")
    json_box.click()
    json_box.send_keys(Keys.CONTROL, "a")
    json_box.send_keys(Keys.DELETE)
    json_box.send_keys('{"users_view": {"user_cost": {"gte": 2')
    _wait(browser, lambda d: "not JSON yet" in d.find_element(By.ID, "json-problems").text, "?")
    json_box.send_keys("}}}")
    _wait(browser, lambda d: _value(d, "filter") == "user_cost >= 2", "the text follows")
    json_box.send_keys(Keys.CONTROL, "a")
    json_box.send_keys('{"users_view": {"user_cost": {"gte": "x"}}}')
    _wait(
        browser,
        lambda d: "user_cost takes a number" in d.find_element(By.ID, "json-problems").text,
        "the JSON's problem",
    )
    assert _value(browser, "filter") == "user_cost >= 2"


def test_a_stopped_service_is_shown(browser: WebDriver) -> None:
    from helicone_filter.service.app import create_app

    with serving(create_app()) as url:
        box = _open(browser, url + "/")
        _type(browser, box, "modle = 1")
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mirror .error"), "underline")
    status = browser.find_element(By.ID, "status")
    assert not status.is_displayed()
    box.send_keys(" and cached")
    _wait(browser, lambda d: status.is_displayed(), "the service-unreachable banner")
    assert "service is unreachable" in status.text
    assert status.get_attribute("role") == "alert"
    # Nothing stale stays beside the new text.
    assert browser.find_elements(By.CSS_SELECTOR, "#mirror .error") == []
    assert _problems(browser) == []


# A filter long enough to wrap onto three lines in the box, with the mistake on the last.
LONG = (
    'user_cost > 5 and model ilike "gpt%" and request_created_at >= now - 7d and '
    'properties.environment = "production" and status >= 200 and status < 300 and '
    "latency < 2000 and cached = false and user_total_requests >= 10 and "
    'user_user_id != "someone" and prompt_tokens > 100 and completion_tokens < 5000 and '
    "modle = 1"
)

# Where the characters [start, end) of the textarea's text are drawn, measured with a copy of
# the textarea made here: a div given every computed style of the textarea, in its place.
MEASURE = """
const box = arguments[0], start = arguments[1], end = arguments[2];
const copy = document.createElement("div"), cs = getComputedStyle(box);
for (const name of cs) copy.style.setProperty(name, cs.getPropertyValue(name));
const r = box.getBoundingClientRect();
copy.style.position = "fixed"; copy.style.left = r.left + "px"; copy.style.top = r.top + "px";
copy.style.overflowY = "scroll";  /* as the textarea, which scrolls */
copy.style.visibility = "hidden";
const span = document.createElement("span");
copy.append(box.value.slice(0, start), span, box.value.slice(end));
span.textContent = box.value.slice(start, end);
document.body.append(copy);
copy.scrollTop = box.scrollTop;
const s = span.getBoundingClientRect();
const out = {left: s.left, top: s.top, right: s.right, bottom: s.bottom,
             lines: span.getClientRects().length, scrollHeight: copy.scrollHeight};
copy.remove();
return out;
"""


def test_the_underline_lies_on_the_mistake_when_the_box_wraps_and_scrolls(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/", width=700)
    _type(browser, box, LONG)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mirror .error"), "underline")
    box.send_keys(Keys.ESCAPE)
    height = (
        "return arguments[0].scrollHeight / parseFloat(getComputedStyle(arguments[0]).lineHeight)"
    )
    assert browser.execute_script(height, box) >= 3.5  # three lines and more: it wraps
    assert browser.execute_script("return arguments[0].scrollTop", box) > 0  # and scrolled
    start = LONG.index("modle")
    underline = browser.find_element(By.CSS_SELECTOR, "#mirror .error")
    got = browser.execute_script("return arguments[0].getBoundingClientRect()", underline)
    want = browser.execute_script(MEASURE, box, start, start + 5)
    assert want["lines"] == 1
    for side in ("left", "top", "right", "bottom"):
        assert abs(got[side] - want[side]) < 1.5, (side, got, want)
    inner = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom]", box
    )
    assert inner[0] <= got["top"] and got["bottom"] <= inner[1]  # within the box, not below
    # Scrolled back to the top, the underline moves with the text, out of sight.
    browser.execute_script("arguments[0].scrollTop = 0", box)
    _wait(
        browser,
        lambda d: (
            abs(
                d.execute_script("return arguments[0].getBoundingClientRect().top", underline)
                - d.execute_script(MEASURE, box, start, start + 5)["top"]
            )
            < 1.5
        ),
        "the underline scrolled with the text",
    )


def test_at_420_px_it_fits_and_stacks(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/", width=420)
    _type(browser, box, 'model contains "gpt_4" and modle = "x" and cost => 1')
    _wait(browser, lambda d: len(_problems(d)) == 3, "three problems")
    box.send_keys(Keys.ESCAPE)
    # For screen readers: a summary in a live region, and the field reference filled in.
    assert browser.find_element(By.ID, "announce").get_attribute("textContent") == (
        "2 errors, 1 warning"
    )
    assert browser.find_element(By.ID, "announce").get_attribute("aria-live") == "polite"
    rows = browser.find_elements(By.CSS_SELECTOR, "#field-rows tr")
    assert len(rows) == len(FIELDS) and "user_user_id" in rows[0].get_attribute("textContent")
    assert browser.execute_script("return window.innerWidth") == 420
    overflow = "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert browser.execute_script(overflow) <= 0  # no sideways scrolling
    wider = """return [...document.querySelectorAll('body *')].filter(e => e.offsetParent
        && e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map(e => e.id || e.className || e.tagName)"""
    assert browser.execute_script(wider) == []
    toolbar = browser.find_elements(By.CSS_SELECTOR, ".toolbar button")
    tops = {round(b.rect["y"]) for b in toolbar}
    assert len(tops) > 1  # the buttons wrap onto more than one row
    shots = os.environ.get("HELICONE_FILTER_SCREENSHOTS")
    if shots:
        browser.save_screenshot(str(Path(shots) / "playground-420.png"))


def test_screenshot_at_1280(base: str, browser: WebDriver) -> None:
    shots = os.environ.get("HELICONE_FILTER_SCREENSHOTS")
    if not shots:
        pytest.skip("HELICONE_FILTER_SCREENSHOTS is not set: no pictures to make")
    box = _open(browser, base + "/", width=1280)
    _type(
        browser, box, 'user_cost > 5 and model contains "gpt_4" and request_created_at >= now - 7d '
    )
    _wait(browser, lambda d: _problems(d) and _list_open(d), "a warning and the list")
    _wait(browser, lambda d: '"gpt_4"' in _value(d, "json"), "the JSON")
    browser.save_screenshot(str(Path(shots) / "playground.png"))


def test_the_endpoint_selector_changes_what_is_valid(base: str, browser: WebDriver) -> None:
    from selenium.webdriver.support.ui import Select

    from helicone_filter.facts.endpoints import ENDPOINT_NAMES

    box = _open(browser, base + "/")
    chooser = browser.find_element(By.ID, "endpoint")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=endpoint]")
    assert label.text == "Endpoint" and chooser.tag_name == "select"
    assert [o.get_attribute("value") for o in Select(chooser).options] == list(ENDPOINT_NAMES)
    assert chooser.get_property("tabIndex") == 0  # reachable by Tab
    assert Select(chooser).first_selected_option.get_attribute("value") == "user-metrics"
    _type(browser, box, 'session_tag = "x"')
    _wait(browser, lambda d: any("session_tag is a field" in m for _, m in _problems(d)), "error")
    # by the keyboard: focus the selector, then the arrow down to the next endpoint
    chooser.send_keys(Keys.ARROW_DOWN)
    _wait(browser, lambda d: "e=requests" in d.current_url, "the endpoint in the link")
    _wait(browser, lambda d: "sessions_request_response_rmt" in _value(d, "json"), "the JSON")
    assert json.loads(_value(browser, "json")) == {
        "sessions_request_response_rmt": {"session_tag": {"equals": "x"}}
    }
    assert _problems(browser) == []
    rows = browser.find_element(By.ID, "field-rows").get_attribute("innerHTML") or ""
    assert "session_tag" in rows and "user_cost" not in rows
    _type(browser, box, "user_cost > 5")
    _wait(browser, lambda d: _problems(d), "the problem")
    [(kind, message)] = _problems(browser)
    assert "error" in kind
    assert message.startswith("user_cost is a field of the user-metrics endpoint (users_view)")
    # the link keeps the endpoint: opened again, the page is on the requests endpoint
    _type(browser, box, 'session_tag = "y"')
    _wait(browser, lambda d: '"y"' in _value(d, "json"), "the JSON")
    browser.find_element(By.ID, "share").click()
    link = browser.current_url
    assert "#e=requests&q=" in link
    browser.get(base + "/healthz")  # elsewhere, then back by the link
    browser.get(link)
    _wait(browser, lambda d: '"y"' in _value(d, "json"), "the JSON of the link")
    chooser = browser.find_element(By.ID, "endpoint")
    assert Select(chooser).first_selected_option.get_attribute("value") == "requests"
