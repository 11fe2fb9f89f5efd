"""Headless Chromium driven by Selenium, offline, with a screenshot trail.

Selenium Manager would try to download a driver; there is no internet, so the
Debian ``chromium``/``chromium-driver`` binaries are named explicitly
(``scripts/ci-browser-deps.sh`` installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("NEWSMARKETS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NEWSMARKETS_CHROMEDRIVER", "/usr/bin/chromedriver")


def missing_binaries() -> list[str]:
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]


def start_chromium(log_path: Path) -> webdriver.Chrome:
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--window-size=1600,1000", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run its sandbox as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Dates typed into the UI and shown back are compared in UTC, whatever the host's zone.
    service = Service(executable_path=CHROMEDRIVER, log_output=str(log_path), env={**os.environ, "TZ": "UTC"})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    return driver


def xpath_literal(text: str) -> str:
    """``text`` as an XPath string literal (XPath 1.0 has no escapes)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


class Browser:
    """A driver plus the folder its screenshots, page sources and console logs go to."""

    def __init__(self, driver: webdriver.Chrome, out_dir: Path, timeout_s: float = 30.0):
        self.driver = driver
        self.out_dir = out_dir
        self.timeout_s = timeout_s
        self._shots = 0

    # -- evidence -----------------------------------------------------------
    def snap(self, name: str) -> Path:
        """Screenshot numbered in step order, so the folder reads as the test's story."""
        self._shots += 1
        path = self.out_dir / f"{self._shots:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        self.driver.save_screenshot(str(path))
        return path

    def dump(self, name: str) -> list[Path]:
        """Page source, a screenshot and the browser console, for a failure."""
        written = []
        try:
            page = self.out_dir / f"{name}.html"
            page.write_text(self.driver.page_source, encoding="utf-8")
            written.append(page)
            written.append(self.snap(name))
            console = self.out_dir / f"{name}.console.txt"
            console.write_text("\n".join(f"{e['level']} {e['message']}" for e in self.driver.get_log("browser")))
            written.append(console)
        except WebDriverException as exc:  # a dead browser must not hide the original failure
            (self.out_dir / f"{name}.error.txt").write_text(repr(exc))
        return written

    @contextmanager
    def step(self, name: str, timings: dict[str, float] | None = None) -> Iterator[None]:
        """One user-visible step: a screenshot when it worked, screenshot + page source + console when not."""
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            written = self.dump(f"FAILED-{name}")
            exc.add_note(f"browser step {name!r} failed; evidence: {', '.join(str(p) for p in written)}")
            raise
        self.snap(name)
        if timings is not None:
            timings[name] = round(time.monotonic() - started, 1)

    # -- waiting ------------------------------------------------------------
    def wait(self, condition: Callable[[Any], Any], what: str, timeout_s: float | None = None,
             poll_s: float = 0.25) -> Any:
        """Wait until ``condition(driver)`` is truthy; a timeout names ``what`` was awaited."""
        def check(driver):
            try:
                return condition(driver)
            except StaleElementReferenceException:  # React re-rendered under us: look again
                return False

        try:
            return WebDriverWait(self.driver, timeout_s or self.timeout_s, poll_frequency=poll_s).until(check)
        except TimeoutException as exc:
            raise TimeoutException(f"waited {timeout_s or self.timeout_s:.0f}s for {what} on {self.driver.current_url}") from exc

    def visible(self, by: str, selector: str, what: str | None = None, timeout_s: float | None = None) -> WebElement:
        def find(driver):
            for element in driver.find_elements(by, selector):
                if element.is_displayed():
                    return element
            return False

        return self.wait(find, what or f"{selector!r} visible", timeout_s)

    def by_role(self, role: str, name: str, *, exact: bool = True, within: str = "",
                timeout_s: float | None = None) -> WebElement:
        """A visible element with ARIA ``role`` (explicit or the tag's implicit one) and accessible ``name``.

        The name is matched against the element's text, ``aria-label`` or ``title``.
        """
        implicit = {"button": "self::button", "link": "self::a", "textbox": "self::input",
                    "dialog": "self::dialog", "heading": "self::h1 or self::h2 or self::h3 or self::h4",
                    "checkbox": "self::input[@type='checkbox']", "radio": "self::input[@type='radio']"}
        role_test = f"@role={xpath_literal(role)}" + (f" or {implicit[role]}" if role in implicit else "")
        lit = xpath_literal(name)
        if exact:
            name_test = f"normalize-space(.)={lit} or @aria-label={lit} or @title={lit}"
        else:
            name_test = f"contains(normalize-space(.), {lit}) or contains(@aria-label, {lit}) or contains(@title, {lit})"
        return self.visible(By.XPATH, f"{within}//*[({role_test}) and ({name_test})]",
                            f"{role} named {name!r}", timeout_s)

    def text_visible(self, text: str, timeout_s: float | None = None, within: str = "") -> WebElement:
        """The innermost visible element whose text contains ``text``."""
        lit = xpath_literal(text)
        return self.visible(By.XPATH, f"{within}//*[contains(normalize-space(.), {lit}) and "
                                      f"not(.//*[contains(normalize-space(.), {lit})])]",
                            f"text {text!r}", timeout_s)

    def labelled(self, label: str, within: str = "") -> WebElement:
        """The control a visible ``<label>`` with this text points to (``for`` or ``aria-labelledby``)."""
        lit = xpath_literal(label)

        def find(driver):
            for element in driver.find_elements(By.XPATH, f"{within}//*[normalize-space()={lit}][@id or self::label]"):
                if element.tag_name == "label" and element.get_attribute("for"):
                    found = driver.find_elements(By.ID, element.get_attribute("for"))
                else:
                    found = driver.find_elements(By.XPATH, f"//*[@aria-labelledby={xpath_literal(element.get_attribute('id'))}]")
                if found:
                    return found[0]
            return False

        return self.wait(find, f"control labelled {label!r}")

    def choose(self, label: str, within: str = "") -> WebElement:
        """Select a radio button or tick a checkbox by its label, the way a user clicks the label."""
        control = self.labelled(label, within)
        if not control.is_selected():
            owner = self.driver.find_elements(By.XPATH, f"//label[@for={xpath_literal(control.get_attribute('id'))}]")
            self.click(owner[0] if owner else control)
            self.wait(lambda _: control.is_selected(), f"{label!r} selected")
        return control

    def click(self, element: WebElement) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
        except WebDriverException:  # covered by a tooltip or animation: click as the DOM would
            self.driver.execute_script("arguments[0].click();", element)

    def poll(self, check: Callable[[], Any], what: str, timeout_s: float, every_s: float = 3.0) -> Any:
        """Re-run ``check`` (which may reload the page) until truthy; the only timed loop we allow."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = check()
            except StaleElementReferenceException:  # the page re-rendered while it was read (Airflow
                last = None  # refreshes a list of running DAG runs by itself): read it again next round
            if last:
                return last
            time.sleep(every_s)
        raise TimeoutException(f"{what} not seen within {timeout_s:.0f}s (last check: {last!r})")
