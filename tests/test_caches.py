"""The caches kept per data version (layer extents, the finder's summary, the postcode
status) key by database as well as version, so two databases one process serves (the
primary and a replica, or two test databases) never answer with each other's values."""
from sqlalchemy import create_engine

from layers.extents import VersionedCache
from tests.conftest import with_database


def test_the_same_version_of_two_databases_is_computed_for_each(engine, database_url):
    other = create_engine(with_database(database_url, "postgres"))
    cache = VersionedCache()
    try:
        with engine.connect() as first, other.connect() as second:
            assert cache.get(first, 7, lambda: "first") == "first"
            assert cache.get(first, 7, lambda: "recomputed") == "first"
            assert cache.get(second, 7, lambda: "second") == "second"
            assert cache.get(first, 8, lambda: "first, version 8") == "first, version 8"
    finally:
        other.dispose()
