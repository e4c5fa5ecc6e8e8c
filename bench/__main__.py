"""`make bench`: build the datasets, run every server against the same requests, measure
the floor, the import and the map, and write docs/benchmarks.md.

    python -m bench [--sizes 10000,100000] [--with-1m] [--duration 10] [--connections 16]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path

from bench import browser, data, floor, load, measure, openreferral, report, servers
from mapping.core.config import PROJECT_ROOT, Settings

RESULTS = PROJECT_ROOT / "bench" / "results"
TARGET_SIZE = 100_000


def tile_path(z: int, lon: float, lat: float) -> str:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


def request_values(url: str) -> dict:
    lon, lat = data.NEAREST_POINT
    return {"bbox": ",".join(str(v) for v in data.BUSY_BBOX), "ward": load.busiest_ward(url),
            "lon": lon, "lat": lat, "z12": tile_path(12, lon, lat), "z14": tile_path(14, lon, lat)}


def run_server_matrix(name, url, size, workers, queries, args, values, results):
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = servers.STARTERS[name](url, workers, logs)
    try:
        for query in queries:
            if query not in server.paths or query in ("download", "paged"):
                continue
            target = server.base + server.paths[query].format(**values)
            row = {"server": name, "workers": workers, "size": size, "query": query}
            try:
                # Two workers: every server gets a new connection per request (see wrk()).
                outcome = measure.wrk(target, args.connections, args.duration,
                                      close=workers > 1)
                row.update(vars(outcome))
                if name == "this app" and workers == 1:
                    row["p50_one_connection_ms"] = measure.one_connection_p50(target)
                    if query in floor.QUERIES:
                        measured = floor.floor(url, query, values["ward"])
                        row["floor_ms"], row["floor_bytes"] = measured["ms"], measured["bytes"]
                    if query in report.FEED_QUERIES:
                        # The peers publish the fields they are configured with; asked for
                        # the same ones, how big is our page?
                        _, body = measure.fetch(
                            target + "&properties=" + ",".join(data.SERVED_PROPERTIES))
                        row["bytes_same_fields"] = len(body)
                        row["features_same_fields"] = measure.count_features(body)
            except Exception as error:  # noqa: BLE001 - a peer that fails a query is reported
                row["failed"] = str(error)[:300]
            print(json.dumps(row), flush=True)
            results.append(row)
        if "paged" in queries and "paged" in server.paths:
            seconds, pages, features, finished = measure.page_to_end(
                server.base + server.paths["paged"])
            row = {"server": name, "workers": workers, "size": size, "query": "paged",
                   "seconds": seconds, "pages": pages, "features": features,
                   "finished": finished}
            print(json.dumps(row), flush=True)
            results.append(row)
        results.append({"server": name, "workers": workers, "size": size, "query": "peak rss",
                        "rss_mb": server.peak_rss_mb()})
    finally:
        server.stop()


def download_rss(url: str, size: int, results: list) -> None:
    server = servers.start_ours(url, 1, RESULTS / "logs")
    try:
        started = time.perf_counter()
        status, size_bytes = measure.fetch_size(server.base + server.paths["download"])
        seconds = time.perf_counter() - started
        row = {"server": "this app", "workers": 1, "size": size, "query": "download",
               "status": status, "seconds": seconds, "bytes": size_bytes,
               "rss_mb": server.peak_rss_mb()}
        print(json.dumps(row), flush=True)
        results.append(row)
    finally:
        server.stop()


def import_against_ogr2ogr(server_url: str, size: int, results: list,
                           our_seconds: float | None = None) -> None:
    """Our importer and ogr2ogr loading the same CSV into an empty database. `our_seconds`:
    this run already timed our import of it (building the dataset is exactly that load:
    an empty schema, the wards, then the file)."""
    csv_path = data.write_csv(RESULTS / f"places-{size}.csv", size)
    if our_seconds is None:
        ours = load.database_for(server_url, f"bench_import_{size}")
        load.recreate(ours)
        from mapping.core import db as database

        database.upgrade(ours)
        load.assetmap("boundaries", "wards", str(data.WARDS_FILE), "--code-field", "WD13CD",
                      "--name-field", "WD13NM", url=ours)
        started = time.perf_counter()
        load.assetmap("import", "assets", str(csv_path), "--source", "bench", url=ours)
        our_seconds = time.perf_counter() - started
        load.drop(ours)

    theirs = load.database_for(server_url, f"bench_ogr_{size}")
    load.recreate(theirs)
    from sqlalchemy.engine import make_url

    target = make_url(theirs)
    subprocess.run(["psql", "-q", "-h", target.host, "-p", str(target.port), "-U", target.username,
                    target.database, "-c", "CREATE EXTENSION IF NOT EXISTS postgis"], check=True)
    started = time.perf_counter()
    subprocess.run([
        "ogr2ogr", "-f", "PostgreSQL",
        f"PG:host={target.host} port={target.port} user={target.username} dbname={target.database}",
        str(csv_path), "-oo", "X_POSSIBLE_NAMES=longitude", "-oo", "Y_POSSIBLE_NAMES=latitude",
        "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4326", "-nln", "places_ogr",
        "-lco", "GEOMETRY_NAME=geom", "--config", "PG_USE_COPY", "YES", "-overwrite"],
        check=True, capture_output=True)
    ogr_seconds = time.perf_counter() - started
    load.drop(theirs)
    row = {"query": "import", "size": size, "ours_s": our_seconds, "ogr2ogr_s": ogr_seconds}
    print(json.dumps(row), flush=True)
    results.append(row)


def machine() -> dict:
    versions = {}
    for name, command in {"PostgreSQL": ["psql", "--version"], "GDAL": ["ogr2ogr", "--version"],
                          "wrk": ["wrk", "--version"]}.items():
        try:
            output = subprocess.run(command, capture_output=True, text=True, check=False)
            versions[name] = (output.stdout or output.stderr).strip().splitlines()[0]
        except OSError:
            versions[name] = "not found"
    from importlib.metadata import version

    for package in ("flask", "gunicorn", "tipg", "pygeoapi", "uvicorn", "psycopg"):
        try:
            versions[package] = version(package)
        except Exception:  # noqa: BLE001
            versions[package] = "not installed"
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    return {"python": platform.python_version(), "cpu": cpu,
            "cores": subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip(),
            "memory": Path("/proc/meminfo").read_text().splitlines()[0].split(":")[1].strip(),
            **versions}


def rewrite_report(args) -> None:
    results = json.loads((RESULTS / "results.json").read_text())
    floors = floor.collected(results, TARGET_SIZE)
    run = next((r for r in results if r.get("query") == "run"), {})
    for key, value in run.get("args", {}).items():
        if key != "report_only":
            setattr(args, key, value)
    report.write(results, {**machine(), **load_average(results)}, args, run.get("seconds", 0.0),
                 floors)
    print(f"wrote {report.REPORT}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="dataset sizes; 100000 gets the full matrix against the peers")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--peers", default="tipg,pygeoapi")
    parser.add_argument("--load-seconds", type=int, default=60,
                        help="the mixed-traffic load run (50 clients); 0 skips it")
    parser.add_argument("--soak-minutes", type=int, default=10,
                        help="the soak run's length; 0 skips it")
    parser.add_argument("--resume", metavar="LOG",
                        help="take the measurements a previous run printed to LOG and run "
                             "only what it did not finish")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite docs/benchmarks.md from bench/results/results.json, "
                             "measuring the floor again if the results lack it")
    args = parser.parse_args()
    if args.report_only:
        return rewrite_report(args)

    sizes = [int(s) for s in args.sizes.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    server_url = Settings.from_env().resolved_database_url()
    peers = [p for p in args.peers.split(",") if p]
    results: list[dict] = []
    floors: dict = {}
    started = time.time()
    # Another program on the same cores skews every ratio: say how quiet the machine was.
    load_at_start = os.getloadavg()

    if args.resume:
        results = [json.loads(line) for line in Path(args.resume).read_text().splitlines()
                   if line.startswith("{")]

    def done(size, query):
        return any(r.get("size") == size and r.get("query") == query for r in results)

    import_seconds: dict[int, float] = {}

    def phase(name: str, since: float) -> None:
        row = {"query": "phase", "name": name, "seconds": time.time() - since}
        print(json.dumps(row), flush=True)
        results.append(row)

    for size in sizes:
        since = time.time()
        url, seconds = load.build(server_url, size, RESULTS)
        if not math.isnan(seconds):  # built in this run (NaN when it was already there)
            import_seconds[size] = seconds
        phase(f"dataset of {size:,}", since)
        since = time.time()
        values = request_values(url)
        if done(size, "download"):
            continue
        if done(size, "bbox"):
            download_rss(url, size, results)
            continue
        if size == TARGET_SIZE:
            for name in ["this app"] + peers:
                for workers in (1, 2):
                    run_server_matrix(name, url, size, workers,
                                      ["bbox", "ward", "category", "nearest", "mvt z12", "mvt z14",
                                       "paged"], args, values, results)
        else:
            for name in ["this app"] + (peers if size <= TARGET_SIZE else []):
                run_server_matrix(name, url, size, 1, ["bbox", "nearest"], args, values, results)
        download_rss(url, size, results)
        phase(f"servers on {size:,}", since)
        if size == browser.MAP_SIZE:
            since = time.time()
            try:
                results.extend(browser.map_load(server_url, RESULTS))
            except Exception as error:  # noqa: BLE001 - reported, not hidden
                results.append({"query": "map load", "failed": str(error)[:300]})
            phase("map in Chromium", since)

    floors = floor.collected(results, TARGET_SIZE)

    if openreferral.SIZE in sizes and not done(openreferral.SIZE, "oruk services"):
        since = time.time()
        results.extend(openreferral.run(server_url, RESULTS, args.duration, args.connections))
        phase(f"Open Referral at {openreferral.SIZE:,} services", since)

    since = time.time()
    import_against_ogr2ogr(server_url, max(sizes), results, import_seconds.get(max(sizes)))
    phase("import against ogr2ogr", since)

    from bench import soak

    load_url, _ = load.build(server_url, TARGET_SIZE, RESULTS)
    if args.load_seconds:
        since = time.time()
        results.append(soak.run(load_url, RESULTS, users=50, seconds=args.load_seconds,
                                label="load"))
        print(json.dumps(results[-1]), flush=True)
        phase("load", since)
    if args.soak_minutes:
        since = time.time()
        results.append(soak.run(load_url, RESULTS, users=50, seconds=args.soak_minutes * 60,
                                label="soak"))
        print(json.dumps(results[-1]), flush=True)
        phase("soak", since)


    results.append({"query": "run", "seconds": time.time() - started, "args": vars(args),
                    "load_average": {"start": load_at_start, "end": os.getloadavg()}})
    (RESULTS / "results.json").write_text(json.dumps(results, indent=1))
    report.write(results, {**machine(), **load_average(results)}, args, time.time() - started,
                 floors)
    print(f"wrote {report.REPORT}")


def load_average(results) -> dict:
    run = next((r for r in results if r.get("query") == "run"), {})
    loads = run.get("load_average")
    if not loads:
        return {}
    return {"load average at start (1, 5, 15 min)": ", ".join(f"{v:.2f}" for v in loads["start"]),
            "load average at end (1, 5, 15 min)": ", ".join(f"{v:.2f}" for v in loads["end"])}


if __name__ == "__main__":
    main()
