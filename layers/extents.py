"""Each layer's bounding box, update-time range and size, computed once per data version
(a pass over every layer) and kept in memory until the data changes."""
from __future__ import annotations

from layers.sql import extents


class VersionedCache:
    """One value kept until the data version changes, then computed again. The key is the
    database and its data version, for every cache alike: two databases served by one
    process (a replica, the tests) can be at the same version number."""

    def __init__(self) -> None:
        self._entry: tuple | None = None

    def get(self, connection, version: int, compute):
        key = (connection.engine.url.render_as_string(hide_password=True), version)
        # One tuple, replaced whole: a reader never sees one version's key with another's value.
        entry = self._entry
        if entry is None or entry[0] != key:
            entry = (key, compute())
            self._entry = entry
        return entry[1]


_extents = VersionedCache()


def layer_extents(connection, version: int) -> dict:
    """{layer id: {minx, miny, maxx, maxy (CRS84), first_update, last_update, size}}."""
    return _extents.get(connection, version, lambda: {
        row["layer"]: dict(row) for row in extents().execute(connection).mappings().all()})
