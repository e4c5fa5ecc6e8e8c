"""Drive a URL with wrk at fixed concurrency and read back requests/s and latencies; time a
query straight in PostgreSQL for the floor; page through a layer to its end."""
from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes: int
    features: int | None


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)$", value).groups()
    return float(number) * UNITS[unit]


def fetch_size(url: str) -> tuple[int, int]:
    """Status and body size of a (large) response, read in chunks and thrown away."""
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    size = 0
    with urllib.request.urlopen(request, timeout=900) as response:
        while chunk := response.read(1 << 20):
            size += len(chunk)
        return response.status, size


def fetch(url: str) -> tuple[int, bytes]:
    # GeoJSON first: tipg answers a plain JSON list to a bare application/json.
    request = urllib.request.Request(
        url, headers={"Accept": "application/geo+json, application/json;q=0.9"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def count_features(body: bytes) -> int | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    features = document.get("features") if isinstance(document, dict) else None
    return len(features) if isinstance(features, list) else None


def wrk(url: str, connections: int, seconds: int, threads: int = 2,
        close: bool = False) -> LoadResult:
    """`close`: a new connection per request (`Connection: close`), as is fair to servers
    whose worker processes share kept-alive connections unevenly (uvicorn's)."""
    status, body = fetch(url)
    if status not in (200, 204):
        raise RuntimeError(f"{url} answered {status}: {body[:300]!r}")
    headers = ["-H", "Connection: close"] if close else []
    output = subprocess.run(["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
                             "-d", f"{seconds}s", "--latency", "--timeout", "30s", *headers, url],
                            capture_output=True, text=True, check=True).stdout
    completed = re.search(r"(\d+) requests in", output)
    if not completed or int(completed.group(1)) == 0:
        raise RuntimeError(f"no request completed in {seconds} s: " + output[-300:])
    distribution = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.MULTILINE))
    if set(distribution) != {"50", "99"}:
        raise RuntimeError("wrk completed no request: " + output[-500:])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50, p99 = _ms(distribution["50"]), _ms(distribution["99"])
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                              output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rps, p50, p99, errors, len(body), count_features(body))


def one_connection_p50(url: str, repeat: int = 60) -> float:
    """Median latency of `repeat` sequential requests over one kept-alive connection (ms),
    the body read to its end; what a client adds on top of the server is kept small."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Accept": "application/geo+json, application/json;q=0.9"}
    times = []
    try:
        for index in range(repeat + 1):
            started = time.perf_counter()
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
            if index:  # the first request warms the worker and its pool
                times.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return statistics.median(times)


def page_to_end(url: str, max_seconds: float = 60) -> tuple[float, int, int, bool]:
    """Follow `next` links from `url` for at most `max_seconds`; returns seconds, pages and
    features read, and whether the end was reached."""
    started = time.perf_counter()
    pages = features = 0
    while url:
        status, body = fetch(url)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}")
        document = json.loads(body)
        pages += 1
        features += len(document["features"])
        url = next((link["href"] for link in document.get("links", [])
                    if link.get("rel") == "next"), None)
        if not document["features"]:
            break
        if time.perf_counter() - started > max_seconds:
            return time.perf_counter() - started, pages, features, False
    return time.perf_counter() - started, pages, features, True


def floor_ms(database_url: str, statement, repeat: int = 60) -> tuple[float, int]:
    """Median time to run the app's own SQL for a request (`layers.sql.Statement`) on one
    connection, straight in PostgreSQL, and the length of the text it built."""
    from mapping.core.config import Settings
    from mapping.core.db import make_engine

    # The app's own connection settings (no parallel workers, no JIT), so the floor is what
    # PostgreSQL does for the app, not a different plan.
    engine = make_engine(database_url, Settings())
    times = []
    size = 0
    with engine.connect() as connection:
        for index in range(repeat + 3):
            started = time.perf_counter()
            row = statement.execute(connection).mappings().first()
            if index >= 3:  # the first runs warm the cache
                times.append((time.perf_counter() - started) * 1000)
            size = len((row.get("features") or "").encode())
    engine.dispose()
    return statistics.median(times), size
