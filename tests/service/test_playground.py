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

import axe_selenium_python
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
        caption = browser.find_element(By.ID, "json-problems")
        assert caption.text == "(no JSON while the filter has errors)"
    status = browser.find_element(By.ID, "status")
    assert not status.is_displayed()
    box.send_keys(" and cached")
    _wait(browser, lambda d: status.is_displayed(), "the service-unreachable banner")
    assert "service is unreachable" in status.text
    assert status.get_attribute("role") == "alert"
    # Nothing stale stays beside the new text.
    assert browser.find_elements(By.CSS_SELECTOR, "#mirror .error") == []
    assert _problems(browser) == []
    assert caption.text == ""  # it spoke of a filter that is no longer checked
    assert browser.find_element(By.ID, "filter").get_attribute("aria-invalid") != "true"


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
    said = browser.find_element(By.ID, "announce").get_attribute("textContent") or ""
    assert said.startswith("2 errors, 1 warning. warning: 'gpt_4' holds % or _")
    assert "error: unknown field 'modle' (did you mean 'model'?)" in said
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


# -- accessibility -------------------------------------------------------------------------------


def _ax_node(driver: WebDriver, selector: str) -> dict[str, Any]:
    """What the browser's accessibility tree says of an element: what a screen reader hears."""
    root = driver.execute_cdp_cmd("DOM.getDocument", {})  # type: ignore[attr-defined]
    found = driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector}
    )
    tree = driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Accessibility.getPartialAXTree", {"nodeId": found["nodeId"], "fetchRelatives": False}
    )
    node: dict[str, Any] = tree["nodes"][0]
    return node


def _described(driver: WebDriver, selector: str) -> str:
    return str(_ax_node(driver, selector).get("description", {}).get("value", ""))


def test_a_screen_reader_hears_each_problem_and_that_the_filter_is_invalid(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    assert box.get_attribute("aria-invalid") == "false"
    assert _described(browser, "#filter") == ""
    _type(browser, box, "modle = 1")
    _wait(browser, lambda d: ("error", "unknown field 'modle'") in _problems(d), "the error")
    box.send_keys(Keys.ESCAPE)
    assert box.get_attribute("aria-invalid") == "true"
    # The box's description is the problems themselves, not the list's name "Problems".
    said = "1 error, 0 warnings. error: unknown field 'modle' (did you mean 'model'?)"
    assert _described(browser, "#filter") == said
    # The live region reads out the message, not the counts alone.
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "announce").get_attribute("textContent") == said,
        "said",
    )
    # A warning alone does not make the filter invalid; mended, nothing is left to describe.
    _type(browser, box, 'model contains "gpt_4"')
    _wait(browser, lambda d: [c for c, _ in _problems(d)] == ["warning"], "the warning")
    assert box.get_attribute("aria-invalid") == "false"
    assert _described(browser, "#filter").startswith("0 errors, 1 warning. warning: 'gpt_4'")
    _type(browser, box, 'model = "gpt-4"')
    _wait(browser, lambda d: '"gpt-4"' in _value(d, "json"), "the JSON")
    assert box.get_attribute("aria-invalid") == "false"
    assert _described(browser, "#filter") == ""


# The contrast of every text the page shows with what lies behind it (the backgrounds of its
# ancestors laid over one another, over the canvas), and of the edge of every control with what
# lies around it, by WCAG 2.1's relative luminance. Each failure: what, colours, ratio, need.
CONTRAST = r"""
const rgba = c => {
  const m = /rgba?\(([^)]*)\)/.exec(c);
  if (!m) throw new Error("a colour this check does not read: " + c);
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3]))
  .concat([1]);
// The canvas is dark only where the page says it can be (color-scheme) and the reader prefers it.
const schemes = getComputedStyle(document.documentElement).colorScheme;
const dark = /\bdark\b/.test(schemes)
  && (matchMedia("(prefers-color-scheme: dark)").matches || !/\blight\b/.test(schemes));
const canvas = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];
function behind(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  return layers.reverse().reduce((under, top) => over(top, under), canvas);
}
const lum = c => {
  const [r, g, b] = c.slice(0, 3).map(v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const ratio = (a, b) => {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};
const shown = el => {
  const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
  return el.getClientRects().length && r.width > 1 && r.height > 1
    && cs.visibility === "visible" && !el.closest("[aria-hidden=true]");
};
const name = el => el.id ? "#" + el.id : el.tagName.toLowerCase()
  + (el.className ? "." + String(el.className).trim().replace(/\s+/g, ".") : "")
  + (el.parentElement && !el.id ? " in " + name(el.parentElement) : "");
const out = [], pairs = new Set();
for (const el of document.querySelectorAll("body *")) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const field = ["TEXTAREA", "SELECT"].includes(el.tagName) && el.value;
  if (!(own || field) || !shown(el)) continue;
  const cs = getComputedStyle(el), bg = behind(el), fg = over(rgba(cs.color), bg);
  const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
  const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
  const got = ratio(fg, bg);
  pairs.add(cs.color + " on " + bg.join());
  if (got < need) out.push([name(el), "text", cs.color, bg.join(), +got.toFixed(2), need]);
}
for (const el of document.querySelectorAll("button, textarea, select, [role=tab]")) {
  if (!shown(el)) continue;
  const cs = getComputedStyle(el);
  if (parseFloat(cs.borderTopWidth) === 0 || cs.borderTopStyle === "none") continue;
  const around = behind(el.parentElement), edge = over(rgba(cs.borderTopColor), around);
  const got = ratio(edge, around);
  pairs.add("edge " + cs.borderTopColor + " on " + around.join());
  if (got < 3) out.push([name(el), "edge", cs.borderTopColor, around.join(), +got.toFixed(2), 3]);
}
return {failures: out, pairs: pairs.size};
"""


def _contrast(driver: WebDriver) -> list[list[Any]]:
    found = driver.execute_script(CONTRAST)
    assert found["pairs"] >= 10  # it measured the page, not nothing
    return list(found["failures"])


def _every_state(driver: WebDriver, box: WebElement) -> Iterator[str]:
    """The page with everything it can show: each kind of problem row with its fix buttons, the
    suggestion list, the references opened, each view, the stale-filter note."""
    for details in driver.find_elements(By.TAG_NAME, "details"):
        if not details.get_attribute("open"):
            details.find_element(By.TAG_NAME, "summary").click()
    _type(driver, box, 'model contains "gpt_4" and modle = 1 and cost => 1 and mod')
    _wait(driver, lambda d: len(_problems(d)) == 4 and _list_open(d), "rows and the list")
    yield "problems and the list"
    box.send_keys(Keys.ESCAPE)
    _type(driver, box, "user_cost > 5")
    _wait(driver, lambda d: '"user_cost"' in _value(d, "json"), "the JSON")
    for tab in ("tab-sql", "tab-body"):
        driver.find_element(By.ID, tab).click()
        yield tab
    driver.find_element(By.ID, "tab-json").click()
    driver.find_element(By.ID, "json").send_keys(Keys.END, "x")
    _wait(driver, lambda d: "not JSON yet" in d.find_element(By.ID, "json-problems").text, "?")
    yield "a stale filter"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_and_control_edge_meets_wcag_aa_contrast(
    base: str, browser: WebDriver, scheme: str
) -> None:
    browser.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    try:
        box = _open(browser, base + "/")
        failures = {state: _contrast(browser) for state in _every_state(browser, box)}
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})  # type: ignore[attr-defined]
    assert {state: f for state, f in failures.items() if f} == {}


# axe-core's own script, as the axe-selenium-python package ships it.
AXE = Path(axe_selenium_python.__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


def test_axe_finds_nothing_serious_or_critical(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    script = AXE.read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    for state in ["as it opens", *_every_state(browser, box)]:
        if not browser.execute_script("return typeof axe === 'object'"):
            browser.execute_script(script)
        results = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done(r.violations), e => done(String(e)));"
        )
        assert isinstance(results, list), results
        for v in results:
            if v["impact"] in ("serious", "critical"):
                where = [", ".join(n["target"]) for n in v["nodes"]]
                found.setdefault(f"{state}: {v['id']} ({v['help']})", []).extend(where)
    assert found == {}


# -- the layout as problems come and go --------------------------------------------------------


def test_the_page_below_the_filter_stays_put_as_problem_rows_come_and_go(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    toolbar = browser.find_element(By.CLASS_NAME, "toolbar")
    tops = {}
    states = {
        "valid": ("user_cost > 5", lambda d: not _problems(d) and "user_cost" in _value(d, "json")),
        "empty": ("", lambda d: not _problems(d) and _value(d, "json") == '"all"'),
        "a field just picked": ("model ", lambda d: [c for c, _ in _problems(d)] == ["pending"]),
        "an error with a fix": ("modle = 1", lambda d: [c for c, _ in _problems(d)] == ["error"]),
        "a warning": (
            'model contains "a_b"',
            lambda d: [c for c, _ in _problems(d)] == ["warning"],
        ),
    }
    for state, (text, shown) in states.items():
        _type(browser, box, text)
        box.send_keys(Keys.ESCAPE)
        _wait(browser, shown, state)
        tops[state] = toolbar.rect["y"]
    assert len(set(tops.values())) == 1, tops


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_the_suggestions_never_cover_a_problem_or_its_fix(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "modle = 1 and ")
    _wait(browser, lambda d: _list_open(d) and len(_options(d)) > 8, "a long list of fields")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#problems button.fix"), "a fix")
    popup = browser.find_element(By.ID, "completions").rect
    for row in browser.find_elements(By.CSS_SELECTOR, "#problems li"):
        assert not _overlap(popup, row.rect), (popup, row.rect)
    # The fix button is what a click there reaches, with the list still open.
    fix = browser.find_element(By.CSS_SELECTOR, "#problems button.fix")
    hit = """const r = arguments[0].getBoundingClientRect();
        return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)"""
    assert browser.execute_script(hit, fix) == fix
    assert _list_open(browser)
    fix.click()
    _wait(browser, lambda d: _value(d, "filter").startswith("model = 1"), "the fix applied")


def test_enter_without_the_list_never_breaks_the_one_line_filter(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "cached")
    box.send_keys(Keys.ESCAPE)
    _wait(browser, lambda d: not _list_open(d), "no list")
    box.send_keys(Keys.ENTER, Keys.SHIFT + Keys.ENTER)
    box.send_keys(" and status = 200")
    _wait(browser, lambda d: '"status"' in _value(d, "json"), "the JSON")
    assert _value(browser, "filter") == "cached and status = 200"


def test_a_filter_left_behind_by_an_invalid_json_edit_says_so(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    stale = browser.find_element(By.ID, "stale")
    assert not stale.is_displayed()
    json_box = browser.find_element(By.ID, "json")
    json_box.send_keys(Keys.END, ",")  # not JSON
    _wait(browser, lambda d: stale.is_displayed(), "the stale note")
    assert stale.text.startswith("Out of date")
    assert "Out of date" in _described(browser, "#filter")
    json_box.send_keys(Keys.BACKSPACE)  # JSON again, and valid: the filter follows, up to date
    _wait(browser, lambda d: not stale.is_displayed(), "the note gone")
    # A valid JSON that is no filter: stale again; typing in the filter makes it the source.
    json_box.send_keys(Keys.CONTROL, "a")
    json_box.send_keys('{"users_view": {"user_cost": {"gte": "x"}}}')
    _wait(browser, lambda d: stale.is_displayed(), "stale for a JSON with a problem")
    box.send_keys(Keys.END, " ")
    _wait(browser, lambda d: not stale.is_displayed(), "the filter is the source again")
    _wait(browser, lambda d: '"user_cost"' in _value(d, "json"), "the JSON follows the filter")


def test_next_says_pick_a_suggestion_only_while_there_is_one(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "cached and mod")
    _wait(browser, lambda d: _list_open(d) and _options(d) == ["model"], "model offered")
    _wait(browser, lambda d: any("pick a suggestion" in m for _, m in _problems(d)), "next")
    box.send_keys(Keys.ESCAPE)
    _wait(browser, lambda d: not any("pick a suggestion" in m for _, m in _problems(d)), "gone")
    assert ("error", "unknown field 'mod'") in _problems(browser)
    box.send_keys(Keys.CONTROL, " ")  # the list again: then it is offered again
    _wait(browser, lambda d: any("pick a suggestion" in m for _, m in _problems(d)), "again")


def test_the_field_table_keeps_operators_apart(base: str, browser: WebDriver) -> None:
    import httpx

    _open(browser, base + "/")
    browser.find_element(By.CSS_SELECTOR, "#reference summary").click()
    fields = httpx.get(base + "/fields").json()["fields"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#field-rows tr")
    cells = {
        r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td") for r in rows
    }
    assert any("not in" in f["operators"] for f in fields)
    for f in fields:
        means, _, operators = (c.text for c in cells[f["field"]][1:4])
        assert [o for o in operators.split(", ") if o] == f["operators"], f["field"]
        assert means == f["means"], f["field"]  # what each field is


# -- taking a completion and typing on -----------------------------------------------------------

# Every call to /complete recorded with its answer's status; `window.fakeComplete(body)`, when
# set and not null, is the answer instead of the service's (as a newer service would give).
INTERCEPT = """
window.sent = [];
const real = window.fetch.bind(window);
window.fetch = async (url, init) => {
  if (!String(url).endsWith("/complete")) return real(url, init);
  const body = JSON.parse(init.body);
  const fake = window.fakeComplete && window.fakeComplete(body);
  const r = fake ? new Response(JSON.stringify(fake),
    {status: 200, headers: {"content-type": "application/json"}}) : await real(url, init);
  window.sent.push({body, status: r.status});
  return r;
};
"""

# After "= ", the string template as the service gives it once it says where the caret goes.
FAKE_TEMPLATE = """
window.fakeComplete = body => body.text.endsWith("= ") ? {completions: [{
  label: '"..."', kind: "value", insert_text: '""', cursor_offset: 1, cursor_offset_utf16: 1,
  detail: "a string",
  replace_start: body.cursor_utf16, replace_end: body.cursor_utf16,
  replace_start_utf16: body.cursor_utf16, replace_end_utf16: body.cursor_utf16}]} : null;
"""


def test_a_completion_taken_mid_word_leaves_one_space(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, 'mod = "a"')
    box.send_keys(Keys.ESCAPE, Keys.HOME, Keys.ARROW_RIGHT * 3)
    box.send_keys(Keys.CONTROL, " ")
    _wait(browser, lambda d: _list_open(d) and _options(d) == ["model"], "model offered")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: _value(d, "filter").startswith("model "), "model taken")
    assert _value(browser, "filter") == 'model = "a"'
    assert browser.execute_script("return arguments[0].selectionStart", box) == len("model ")
    box.send_keys("!")  # typing on: the caret is where "model " ends
    _wait(browser, lambda d: "not-equals" in _value(d, "json"), "the JSON")
    assert _value(browser, "filter") == 'model != "a"'


def test_the_caret_goes_where_the_completion_says(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    browser.execute_script(INTERCEPT + FAKE_TEMPLATE)
    _type(browser, box, "model = ")
    _wait(browser, lambda d: _list_open(d) and _options(d) == ['"..."'], "the template")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: _value(d, "filter") == 'model = ""', "the template taken")
    assert browser.execute_script("return arguments[0].selectionStart", box) == len('model = "')
    box.send_keys("gpt-4")
    _wait(browser, lambda d: '"gpt-4"' in _value(d, "json"), "the JSON")
    assert _value(browser, "filter") == 'model = "gpt-4"'
    # An item that does not say (an operator here) puts the caret after its text.
    _type(browser, box, "model ")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:1] == ["="], "operators")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: _value(d, "filter") == "model = ", "= taken")
    assert browser.execute_script("return arguments[0].selectionStart", box) == len("model = ")


def test_the_string_template_of_the_service_puts_the_caret_inside(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "model = ")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:1] == ['"..."'], "the template")
    box.send_keys(Keys.ENTER, "gpt-4")
    _wait(browser, lambda d: _value(d, "filter").startswith('model = "'), "typed")
    assert _value(browser, "filter") == 'model = "gpt-4"'


# -- known values ----------------------------------------------------------------------------------

VALUES = {
    "model": ["gpt-4o", "gpt-4o-mini"],
    "status": [200, 404],
    "properties.environment": ["production"],
}


def test_known_values_are_sent_and_an_older_service_still_completes(
    base: str, browser: WebDriver
) -> None:
    box = _open(browser, base + "/")
    browser.execute_script(INTERCEPT)
    browser.execute_script("window.heliconeFilter.setValues(arguments[0])", VALUES)
    assert json.loads(_value(browser, "known-values")) == VALUES
    _type(browser, box, "model = ")
    _wait(browser, lambda d: _list_open(d) and _options(d), "values or the template")
    sent = browser.execute_script("return window.sent")
    assert sent[0]["body"]["values"] == VALUES
    # A map key among them is a key offered after the map's dot, by any service.
    assert all(s["body"]["map_keys"] == {"properties": ["environment"]} for s in sent), sent
    # A service older than `values` refuses them (422): the page asks again without them (calls
    # sent while the first refusal was on its way may carry them too), and then never sends them.
    assert all(s["status"] == 200 or "values" in s["body"] for s in sent), sent
    if sent[0]["status"] == 422:
        assert "values" not in sent[-1]["body"] and sent[-1]["status"] == 200
        note = browser.find_element(By.ID, "values-problem").get_attribute("textContent")
        assert note == (
            "This service does not take values yet: only the map keys among them are offered."
        )
    _type(browser, box, "properties.")
    _wait(browser, lambda d: _list_open(d) and _options(d) == ["environment"], "the map key")
    # Wrong values are refused with what was expected, in the hook and in the box.
    with pytest.raises(Exception, match=r"model: expected a list of strings \(of at most"):
        browser.execute_script("window.heliconeFilter.setValues({model: 'gpt-4o'})")
    browser.find_element(By.CSS_SELECTOR, "#values summary").click()
    values_box = browser.find_element(By.ID, "known-values")
    values_box.send_keys(Keys.CONTROL, "a")
    values_box.send_keys('{"model": [true]}')
    problem = browser.find_element(By.ID, "values-problem")
    _wait(browser, lambda d: "model: expected a list of strings" in problem.text, "the problem")
    values_box.send_keys(Keys.CONTROL, "a")
    values_box.send_keys("{")
    _wait(browser, lambda d: problem.text.startswith("not JSON yet"), "not JSON")
    values_box.send_keys(Keys.CONTROL, "a", Keys.DELETE)
    _wait(browser, lambda d: problem.text == "", "no values, no problem")
    assert browser.execute_script("return window.heliconeFilter.values()") == {}


def test_known_values_are_offered_after_their_field(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    browser.execute_script("window.heliconeFilter.setValues(arguments[0])", VALUES)
    _type(browser, box, "model = ")
    _wait(browser, lambda d: _list_open(d) and _options(d), "the list")
    assert '"gpt-4o"' in _options(browser)
    box.send_keys(Keys.ENTER, " and cached")
    _wait(browser, lambda d: '"cached"' in _value(d, "json"), "the JSON")
    assert _value(browser, "filter") == 'model = "gpt-4o" and cached'


def test_each_operator_taken_and_typed_on_reads_as_meant(base: str, browser: WebDriver) -> None:
    box = _open(browser, base + "/")
    _type(browser, box, "model ")
    _wait(browser, lambda d: _list_open(d) and _options(d)[:1] == ["="], "operators")
    operators = _options(browser)
    assert len(operators) >= 8
    for i, operator in enumerate(operators):
        _type(browser, box, "model ")
        _wait(browser, lambda d: _list_open(d) and _options(d) == operators, "operators")
        box.send_keys(Keys.ARROW_DOWN * i, Keys.ENTER)
        _wait(browser, lambda d: _value(d, "filter") != "model ", f"{operator} taken")
        value = "" if operator.startswith("is") else '["a"]' if operator.endswith("in") else '"a"'
        box.send_keys(value, Keys.ESCAPE)
        meant = f"model {operator} {value}".rstrip()
        _wait(browser, lambda d, m=meant: _value(d, "filter").rstrip() == m, meant)
        _wait(browser, lambda d: _value(d, "json").startswith("{"), f"the JSON of {meant}")
        assert _problems(browser) == [], meant
