"""The floor: the app's own SQL for a feed query, run straight in PostgreSQL on one
connection, with no HTTP and no Python in between. Measured right after the app's own
one-connection p50 for the same query, so both see the machine in the same state."""
from __future__ import annotations

from bench import data, measure
from layers.crs import CRS84
from layers.query import Bbox, Query
from layers.registry import LAYERS
from layers.sql import LayerSQL

QUERIES = ("bbox", "ward", "category", "nearest")


def statement(query: str, ward: str):
    """The statement the app runs for one of the benchmark's requests."""
    if query == "nearest":
        lon, lat = data.NEAREST_POINT
        return LayerSQL(LAYERS["places"], Query(limit=10)).nearest(lon=lon, lat=lat)
    checked = {
        "bbox": Query(bbox=Bbox((data.BUSY_BBOX,), CRS84), limit=1000),
        "ward": Query(ward=ward, limit=1000),
        "category": Query(categories=("library",), limit=500),
    }[query]
    return LayerSQL(LAYERS["community-assets"], checked).items()


def floor(database_url: str, query: str, ward: str) -> dict:
    ms, size = measure.floor_ms(database_url, statement(query, ward))
    return {"ms": ms, "bytes": size}


def collected(results: list, feed_size: int) -> dict:
    """{query: {ms, bytes}} from this app's rows: the feed queries at `feed_size`, nearest
    at the biggest size measured."""
    rows = [r for r in results if r.get("server") == "this app" and "floor_ms" in r]
    floors = {}
    for query in QUERIES:
        mine = [r for r in rows if r["query"] == query
                and (query == "nearest" or r["size"] == feed_size)]
        if mine:
            row = max(mine, key=lambda r: r["size"])
            floors[query] = {"ms": row["floor_ms"], "bytes": row["floor_bytes"],
                             "size": row["size"]}
    return floors
