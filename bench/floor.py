"""The floor: the app's own SQL for each feed query, run straight in PostgreSQL on one
connection, with no HTTP and no Python in between."""
from __future__ import annotations

from bench import data, measure
from layers.crs import CRS84
from layers.query import Bbox, Query
from layers.registry import LAYERS
from layers.sql import LayerSQL


def floors(database_url: str, ward: str) -> dict:
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
    return result
