"""Each layer's bounding box, update-time range and size, computed once per data version
(a pass over every layer) and kept in memory until the data changes."""
from __future__ import annotations

import threading

from layers.sql import extents

_lock = threading.Lock()
_cache: dict = {}


def layer_extents(connection, version: int) -> dict:
    """{layer id: {minx, miny, maxx, maxy (CRS84), first_update, last_update, size}}."""
    cached = _cache.get(version)
    if cached is None:
        rows = extents().execute(connection).mappings().all()
        cached = {row["layer"]: dict(row) for row in rows}
        with _lock:
            _cache.clear()
            _cache[version] = cached
    return cached
