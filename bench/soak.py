"""The load and soak runs (issue: trust): 50 simulated residents with mixed traffic
against this app under gunicorn, read back with locust's CSV statistics, and the app's
memory sampled across a long run."""
from __future__ import annotations

import csv
import subprocess
import sys
import threading
from pathlib import Path

from bench import servers

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


def run(url: str, workdir: Path, users: int = 50, seconds: int = 60, workers: int = 2,
        threads: int = 4, label: str = "load") -> dict:
    """`workers` x `threads` as `assetmap serve` runs the app (gunicorn gthread)."""
    server = servers.start_ours(url, workers, workdir / "logs", threads=threads)
    samples: list[float] = []
    stop = threading.Event()

    def sample_memory():
        while not stop.is_set():
            samples.append(current_rss_mb(server))
            stop.wait(5)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    try:
        # Warm up (imports, caches, connection pools) before the memory baseline.
        subprocess.run(_locust(server.base, users, 15, workdir / f"{label}-warmup"),
                       capture_output=True, cwd=LOCUSTFILE.parent.parent, check=False)
        sampler.start()
        prefix = workdir / label
        subprocess.run(_locust(server.base, users, seconds, prefix), capture_output=True,
                       cwd=LOCUSTFILE.parent.parent, check=False)
        stop.set()
        sampler.join()
        stats = _read_stats(prefix)
    finally:
        stop.set()
        server.stop()
    first = samples[: max(1, len(samples) // 10)]
    last = samples[-max(1, len(samples) // 10):]
    growth = (sum(last) / len(last)) / (sum(first) / len(first)) - 1 if samples else None
    return {"query": label, "users": users, "seconds": seconds, "workers": workers,
            "threads": threads, **stats,
            "rss_start_mb": samples[0] if samples else None,
            "rss_end_mb": samples[-1] if samples else None, "rss_growth": growth}


def current_rss_mb(server) -> float:
    total = 0
    for pid in server.pids():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def _locust(host: str, users: int, seconds: int, prefix: Path) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
            "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--host", host, "--csv",
            str(prefix), "--only-summary"]


def _read_stats(prefix: Path) -> dict:
    with open(f"{prefix}_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    per_endpoint = {r["Name"]: {"requests": int(r["Request Count"]),
                                "failures": int(r["Failure Count"]),
                                "p50_ms": float(r["50%"] or 0), "p99_ms": float(r["99%"] or 0)}
                    for r in rows if r["Name"] != "Aggregated"}
    return {"requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
            "requests_per_s": float(total["Requests/s"]), "p50_ms": float(total["50%"] or 0),
            "p99_ms": float(total["99%"] or 0), "endpoints": per_endpoint}
