"""/docs and /redoc in a real browser: Debian's Chromium, headless, driven through chromedriver.

The demo app runs on the real server. The browser may reach 127.0.0.1 only (every other host name
fails to resolve), so the pages must work from the files shipped in turboapi, with no CDN. In
Swagger UI the test opens a GET operation, presses "Try it out" then "Execute", and waits for the
200 response to show. A screenshot of each page is saved under test-artifacts/ (or
$TURBOAPI_TEST_ARTIFACTS).

`.ci/run` installs chromium and chromium-driver when they are missing; without them this test fails
and says so, it is never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from serverutil import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TURBOAPI_TEST_ARTIFACTS") or ROOT / "test-artifacts")
UI_WAIT = 30.0

pytestmark = pytest.mark.timeout(180)


def _program(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed: `apt-get install chromium chromium-driver` (.ci/run does it)")


@pytest.fixture(scope="module")
def demo() -> Iterator[ServerProcess]:
    # ServerProcess runs tests/apps/<name>.py; an absolute path runs examples/demo.py instead.
    server = ServerProcess(str(ROOT / "examples" / "demo"))
    try:
        server.wait_started()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _program("chromium", "chromium-browser")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        # Offline: any host but 127.0.0.1 fails to resolve, so a CDN link would break the page.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(_program("chromedriver")))
    driver.set_page_load_timeout(UI_WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


#: ReDoc's bundle shows its vendor's logo from this URL and hides the image when it cannot load.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _errors(driver: webdriver.Chrome, allowed: tuple[str, ...] = ()) -> list[str]:
    """Console errors, failed loads among them ("Failed to load resource", "net::ERR_...")."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not entry["message"].startswith(allowed)
    ]


def _operations(base_url: str) -> list[tuple[str, str]]:
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as reply:
        document = json.load(reply)
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def test_swagger_ui_lists_the_operations_and_executes_a_get(demo: ServerProcess, browser: webdriver.Chrome) -> None:
    expected = _operations(demo.base_url)
    assert ("GET", "/json") in expected
    browser.get(f"{demo.base_url}/docs")
    wait = WebDriverWait(browser, UI_WAIT)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected))
    shown = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip(),
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
    }
    assert shown == set(expected)

    block = browser.find_element(By.ID, "operations-default-hello_json_get")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait.until(ec.element_to_be_clickable(block.find_element(By.CSS_SELECTOR, ".btn.execute"))).click()
    status = wait.until(
        lambda d: block.find_element(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
        ).text.strip()
    )
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre").text
    shot = _screenshot(browser, "swagger-ui.png")
    assert status == "200", f"Swagger UI shows {status!r} (screenshot: {shot})"
    assert json.loads(body) == {"message": "Hello, World!"}
    assert _errors(browser) == []


def test_redoc_renders_the_operations(demo: ServerProcess, browser: webdriver.Chrome) -> None:
    browser.get(f"{demo.base_url}/redoc")
    wait = WebDriverWait(browser, UI_WAIT)
    # ReDoc renders one h2 per operation, titled with its summary.
    wait.until(lambda d: any(h.text == "Hello" for h in d.find_elements(By.CSS_SELECTOR, "h2")))
    titles = {h.text for h in browser.find_elements(By.CSS_SELECTOR, "h2") if h.text}
    _screenshot(browser, "redoc.png")
    assert {"Hello", "Read Item", "Create Item", "Teapot"} <= titles
    assert _errors(browser, allowed=(REDOC_LOGO,)) == []
