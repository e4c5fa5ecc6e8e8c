"""The floor: the app's own SQL for each feed query, run straight in PostgreSQL on one
connection, with no HTTP and no Python in between."""
from __future__ import annotations

from bench import data, measure
from layers.crs import CRS84
from layers.query import Bbox, Query
from layers.registry import LAYERS
from layers.sql import LayerSQL


def floors(database_url: str, ward: str, nearest_url: str | None = None) -> dict:
    """ms and bytes of each feed query's SQL on `database_url`; with `nearest_url`, also the
    nearest-10 query's on that (the biggest) dataset."""
    layer = LAYERS["community-assets"]
    queries = {
        "bbox": Query(bbox=Bbox((data.BUSY_BBOX,), CRS84), limit=1000),
        "ward": Query(ward=ward, limit=1000),
        "category": Query(categories=("library",), limit=500),
    }
    result = {}
    for name, query in queries.items():
        ms, size = measure.floor_ms(database_url, LayerSQL(layer, query).items())
        result[name] = {"ms": ms, "bytes": size}
    if nearest_url:
        lon, lat = data.NEAREST_POINT
        statement = LayerSQL(LAYERS["places"], Query(limit=10)).nearest(lon=lon, lat=lat)
        ms, size = measure.floor_ms(nearest_url, statement)
        result["nearest"] = {"ms": ms, "bytes": size}
    return result
