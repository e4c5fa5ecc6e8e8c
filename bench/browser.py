"""The resident map in headless Chromium with 10,000 places: bytes transferred before any
basemap tile, and the time from navigation to the first marker or cluster on screen."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench import load, servers

CHROMIUM = "/usr/bin/chromium"
# The dataset the map is measured on (the 10,000 places).
MAP_SIZE = 10_000
MARKER = ".leaflet-marker-icon, .marker-cluster, .leaflet-interactive"


def _measure_once(browser, url: str) -> tuple[float, float, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    # Basemap tiles come from another host; refuse them so only the app's own bytes count.
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(
        url.split("/", 3)[0] + "//" + url.split("/", 3)[2]) else route.continue_())
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(MARKER, timeout=30000)
    first_marker = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    transferred = page.evaluate(
        "() => performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).reduce((n, e) => n + (e.transferSize || 0), 0)")
    # When the places feed had arrived, on the page's clock (from navigation start).
    feed_arrived = page.evaluate(
        "() => Math.max(0, ...performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/layers/places.geojson')).map(e => e.responseEnd))")
    context.close()
    return transferred / 1024, first_marker, feed_arrived / 1000


def map_load(server_url: str, workdir: Path, size: int = MAP_SIZE, runs: int = 5) -> list[dict]:
    from playwright.sync_api import sync_playwright

    url, _ = load.build(server_url, size, workdir)
    # As `assetmap serve` runs it: the page's scripts, styles and feeds arrive together, and
    # sync workers would queue them one behind another.
    server = servers.start_ours(url, 2, workdir / "logs", threads=4)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--disable-gpu", "--disable-quic"])
            _measure_once(browser, server.base + "/")  # warm the server's caches
            samples = [_measure_once(browser, server.base + "/") for _ in range(runs)]
            browser.close()
    finally:
        server.stop()
    return [{"query": "map load", "size": size, "runs": runs,
             "kb": statistics.median(s[0] for s in samples),
             "first_marker_s": statistics.median(s[1] for s in samples),
             "feed_arrived_s": statistics.median(s[2] for s in samples)}]
