"""The built book in a real browser: every page served from 127.0.0.1 and loaded in headless
Chromium (driven by selenium through Debian's chromium-driver) at a 1400-pixel window.

Each page (the top ``index.html``, which only redirects, is checked for its target instead)
must load with no failed request and no request off the machine, no console error,
every image loaded, the smallest text of every figure the study drew (recorded in its PNG by
``hpostudy.figures.save``) at least :data:`READABLE_PX` tall as the page shows it, every table
either within the text column or scrolling inside its own box with its caption whole, and its
math typeset by MathJax; on the chapter pages and the engine page no table scrolls sideways at
all, and each chapter's verdict counts end within the first screen (issue 24); the search page
must find each chapter by its title. A screenshot of every chapter page is left in
``$TMPDIR/hpostudy-screenshots/`` (never the project's ``_build/``).
The test skips, saying what to install, only where no browser is installed (``.ci/run``
installs one).
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import pytest
from PIL import Image

from hpostudy.figures import SMALLEST_TEXT_KEY

ROOT = Path(__file__).resolve().parents[1]
READABLE_PX = 10  # no text of a figure shown smaller (figures.save aims at 11 px)
WIDTH, HEIGHT = 1400, 1000
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  f"--window-size={WIDTH},{HEIGHT}"]
SCREENSHOTS = Path(tempfile.gettempdir()) / "hpostudy-screenshots"  # never the user's _build/


def _executables() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("no Chromium and ChromeDriver here: install them (Debian: apt-get install "
                    "chromium chromium-driver; .ci/run does) to check the book in a browser")
    return browser, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a new empty profile, logging the console and the network."""
    chromium, chromedriver = _executables()
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_script_timeout(MATH_SECONDS + 10)
    driver.get("about:blank")
    driver.get_log("performance"), driver.get_log("browser")  # the browser's own start page
    yield driver
    driver.quit()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A request the browser gave up (it went to the next page) is no error of the book."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def site(browser, book_html):
    """The built book served on 127.0.0.1 (a free port): its base URL."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(book_html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


# ------------------------------------------------------------------ what the page says
MATH_SECONDS = 20  # MathJax's typesetting of a page; the driver's script timeout is longer
WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
const startup = window.MathJax && window.MathJax.startup;
if (startup && startup.promise) {
  setTimeout(() => done('still typesetting'), arguments[0] * 1000);
  startup.promise.then(() => done(true), () => done(false));
} else { done(null); }
"""
REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)
BROKEN_IMAGES = """
return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                           .map(i => i.getAttribute('src'));
"""
SHOWN_IMAGES = """
return [...document.querySelectorAll('article img')]
  .map(i => [i.currentSrc, i.getBoundingClientRect().width, i.naturalWidth]);
"""
SEARCH_SUMMARY = """
const summary = document.querySelector('#search-results p.search-summary');
return summary ? summary.textContent : '';  // written when the search has finished
"""
UNRENDERED_MATH = """
return [...document.querySelectorAll('article .math')]
  .filter(m => !m.querySelector('mjx-container') || m.querySelector('mjx-merror'))
  .map(m => m.textContent.trim().slice(0, 60));
"""
HIDDEN_TABLE_PARTS = """
const problems = [];
const article = document.querySelector('article') || document.body;
const limit = article.getBoundingClientRect().right;
for (const table of article.querySelectorAll('table')) {
  const box = table.closest('.pst-scrollable-table-container') || table.parentElement;
  const boxRect = box.getBoundingClientRect();
  const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
  const name = (table.caption ? table.caption.textContent : table.textContent)
    .trim().replace(/\\s+/g, ' ').slice(0, 70);
  if (table.scrollWidth > box.clientWidth + 1 && !scrolls)
    problems.push(`table "${name}": ${table.scrollWidth} px wide in a ${box.clientWidth} px box `
                  + 'that does not scroll');
  if (boxRect.right > limit + 1)
    problems.push(`table "${name}": its box ends at ${boxRect.right} px, past the text (${limit} px)`);
  if (table.caption) {
    const caption = table.caption.getBoundingClientRect();
    if (caption.width > box.clientWidth + 1 || caption.left < boxRect.left - 1)
      problems.push(`table "${name}": its caption (${caption.width} px) is cut off by its `
                    + `${box.clientWidth} px box`);
  }
}
const page = document.documentElement.scrollWidth;
if (page > window.innerWidth)
  problems.push(`the page is ${page} px wide in a ${window.innerWidth} px window`);
return problems;
"""

# issue 24: on a chapter page (and the engine page) no table scrolls sideways at all, and the
# chapter's verdict counts are on the first screen
SIDEWAYS_TABLES = """
const problems = [];
for (const table of (document.querySelector('article') || document.body)
                      .querySelectorAll('table')) {
  const box = table.closest('.pst-scrollable-table-container') || table.parentElement;
  if (table.scrollWidth > box.clientWidth + 1) {
    const name = (table.caption ? table.caption.textContent : table.textContent)
      .trim().replace(/\\s+/g, ' ').slice(0, 70);
    problems.push(`table "${name}" scrolls sideways: ${table.scrollWidth} px in ${box.clientWidth} px`);
  }
}
return problems;
"""
COUNTS_ON_FIRST_SCREEN = """
window.scrollTo(0, 0);
const counts = document.querySelector('article table.verdict-counts');
if (!counts) return 'no verdict counts (table.verdict-counts) on the page';
const bottom = counts.getBoundingClientRect().bottom;
return bottom <= window.innerHeight ? '' :
  `the verdict counts end at ${bottom} px, below the first screen (${window.innerHeight} px)`;
"""


def _network(driver, base: str) -> list[str]:
    """Failed requests and requests leaving 127.0.0.1, from the performance log."""
    urls, problems = {}, []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if not url.startswith((base + "/", "data:", "blob:", "about:")):
                problems.append(f"request off the machine: {url}")
        elif (method == "Network.loadingFailed" and not params.get("canceled")
              and params.get("errorText") != "net::ERR_ABORTED"):  # left for the next page
            problems.append(f"failed request: {urls.get(params['requestId'], '?')} "
                            f"({params.get('errorText')})")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            problems.append(f"failed request: {params['response']['url']} "
                            f"(HTTP {params['response']['status']})")
    return problems


def _console_errors(driver) -> list[str]:
    return [f"console error: {e['message']}" for e in driver.get_log("browser")
            if e["level"] == "SEVERE"]


def _small_figure_text(driver, html: Path) -> list[str]:
    """Figures whose smallest text (as recorded in the PNG) the page shows below
    :data:`READABLE_PX`."""
    problems = []
    for url, shown, natural in driver.execute_script(SHOWN_IMAGES):
        file = html / unquote(urlparse(url).path).lstrip("/")
        if file.suffix != ".png" or not natural:
            continue
        recorded = Image.open(file).text.get(SMALLEST_TEXT_KEY)
        if recorded and float(recorded) * shown / natural < READABLE_PX:
            problems.append(f"figure {file.name}: its smallest text is shown "
                            f"{float(recorded) * shown / natural:.1f} px tall; show it wider "
                            "or draw its text larger")
    return problems


def _until(check, seconds: float = 30.0):
    """``check()`` once it returns nothing, or its last answer after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _screenshot(driver, page: str) -> Path:
    """The whole page at the window's width."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(height, 16000))
    path = SCREENSHOTS / (page.removesuffix(".html").replace("/", "_") + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)
    return path


# ------------------------------------------------------------------ the tests
def test_every_page_loads_cleanly_in_chromium(browser, site, book_html):
    from selenium.common.exceptions import WebDriverException

    pages = sorted(p.relative_to(book_html).as_posix() for p in book_html.rglob("*.html")
                   if not p.relative_to(book_html).as_posix().startswith(("_static", "_sources")))
    assert any(p.startswith("book/chapters/") for p in pages), pages
    assert browser.execute_script("return window.innerWidth") == WIDTH
    report = {}
    for page in pages:
        redirect = REDIRECT.search((book_html / page).read_text(encoding="utf-8"))
        if redirect:  # the top index.html: a page that only sends the browser on
            target = (Path(page).parent / redirect.group(1)).as_posix()
            if target not in pages:
                report[page] = [f"redirects to {target}, which the book does not have"]
            continue  # loading it would race the browser's own move to the target
        try:
            report[page] = _page_problems(browser, site, book_html, page)
        except WebDriverException as error:  # name the page, then go on to the next
            report[page] = [f"the browser failed on it: {error.msg}"]
    report = {page: problems for page, problems in report.items() if problems}
    assert not report, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in report.items())


def _page_problems(browser, site: str, book_html: Path, page: str) -> list[str]:
    """Everything wrong with one page of the book as the browser shows it."""
    browser.get(f"{site}/{page}")
    math_done = browser.execute_async_script(WAIT_FOR_MATH, MATH_SECONDS)
    problems = [*_network(browser, site), *_console_errors(browser)]
    problems += [f"image not loaded: {src}" for src in _until(
        lambda: browser.execute_script(BROKEN_IMAGES))]
    problems += [f"math not typeset: {m}" for m in _until(
        lambda: browser.execute_script(UNRENDERED_MATH))]
    if math_done is False:
        problems.append("MathJax failed to start")
    elif math_done == "still typesetting":
        problems.append(f"MathJax had not finished the page after {MATH_SECONDS} s")
    problems += _small_figure_text(browser, book_html)
    problems += browser.execute_script(HIDDEN_TABLE_PARTS)
    if page.startswith(("book/chapters/", "book/engine")):
        problems += browser.execute_script(SIDEWAYS_TABLES)
    if page.startswith("book/chapters/"):
        problems += [p for p in [browser.execute_script(COUNTS_ON_FIRST_SCREEN)] if p]
        _screenshot(browser, page)
    return problems


def test_search_finds_each_chapter_by_its_title(browser, site, book_html):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chapters = sorted((book_html / "book" / "chapters").glob("*.html"))
    assert chapters
    for chapter in chapters:
        browser.get(f"{site}/{chapter.relative_to(book_html).as_posix()}")
        browser.execute_async_script(WAIT_FOR_MATH, MATH_SECONDS)
        title = browser.find_element(By.CSS_SELECTOR, "article h1").text.strip("#¶ \n")
        browser.get(f"{site}/search.html?q={quote(title)}")
        summary = WebDriverWait(browser, 60).until(lambda d: d.execute_script(SEARCH_SUMMARY))
        found = [a.get_attribute("href") for a in browser.find_elements(
            By.CSS_SELECTOR, "#search-results ul.search li a")]
        assert any(f"book/chapters/{chapter.name}" in url for url in found), \
            (title, summary, found)
        problems = [*_network(browser, site), *_console_errors(browser)]
        assert not problems, problems
