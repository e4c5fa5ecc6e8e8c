"""Playwright driving Debian's Chromium (/usr/bin/chromium, no `playwright install`).

Tests never reach the internet: requests to the app go through; basemap tiles get a plain
stub tile (or are blocked, to test the map without its basemap); anything else is aborted
and recorded, and a test fails if its page asked for it. Each page also records console
errors, uncaught exceptions and dialogs (an `alert` means injected script ran)."""
from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-quic"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG, so stub tiles need no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


STUB_TILE = _png(256, 256, (242, 239, 233))


@dataclass
class Watch:
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    external: list = field(default_factory=list)
    tiles: list = field(default_factory=list)

    def assert_quiet(self, *, allow_tile_errors: bool = False) -> None:
        errors = [e for e in self.console_errors
                  if not (allow_tile_errors and e.startswith("Failed to load resource"))]
        assert not errors, f"console errors: {errors}"
        assert not self.page_errors, f"uncaught exceptions: {self.page_errors}"
        assert not self.dialogs, f"dialogs opened (injected script ran?): {self.dialogs}"
        assert not self.external, f"requests outside the app: {self.external}"


@pytest.fixture(scope="session")
def browser(request):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # One Playwright driver per test run, shared by every copy of this fixture (a module
    # may import it), since a second sync driver in the same thread is refused. The
    # pytest config is the one object every copy sees.
    driver = request.config.__dict__.setdefault("assetmap_playwright",
                                                 {"playwright": None, "users": 0})
    if not driver["users"]:
        driver["playwright"] = sync_playwright().start()
    driver["users"] += 1
    browser = driver["playwright"].chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=LAUNCH_ARGS)
    yield browser
    browser.close()
    driver["users"] -= 1
    if not driver["users"]:
        driver["playwright"].stop()
        driver["playwright"] = None


@pytest.fixture
def browse(browser, live_server, app):
    """`browse(path, viewport=..., javascript=..., basemap="stub"|"blocked", **context)`
    opens a page in a fresh browser context; `page.watch` holds what went wrong."""
    tile_host = urlsplit(app.extensions["assetmap.settings"].basemap_url).hostname
    contexts = []

    def open_page(path="/", *, viewport=DESKTOP, javascript=True, basemap="stub", **options):
        context = browser.new_context(viewport=viewport, java_script_enabled=javascript,
                                      locale="en-GB", **options)
        contexts.append(context)
        watch = Watch()

        def route(route):
            url = route.request.url
            if url.startswith(live_server):
                route.continue_()
            elif urlsplit(url).hostname == tile_host:
                watch.tiles.append(url)
                if basemap == "stub":
                    route.fulfill(status=200, content_type="image/png", body=STUB_TILE)
                else:
                    route.abort("internetdisconnected")
            else:
                watch.external.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        page = context.new_page()
        page.watch = watch
        page.on("console", lambda message: message.type == "error" and watch.console_errors.append(
            f"{message.text} ({message.location.get('url', '')})"))
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))

        def dialog(dialog):
            watch.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dialog)
        page.goto(live_server + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def map_ready():
    """`map_ready(page)` waits until the page's map script has drawn its data (it sets
    data-ready on #map) and returns how many places the map shows."""
    def wait(page, timeout: float = 15_000) -> int:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_selector("#map[data-ready='true']", state="attached", timeout=timeout)
        except PlaywrightTimeout:
            pytest.fail(f"the map never became ready; the page saw {page.watch}")
        return int(page.get_attribute("#map", "data-shown") or 0)

    return wait


@pytest.fixture
def screenshot(artifacts):
    """`screenshot(page, name)` saves the whole page to tests/artifacts/NAME.png."""
    def save(page, name: str) -> None:
        page.wait_for_timeout(400)  # let cluster and zoom animations finish
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

    return save
