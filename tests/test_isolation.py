"""The `connection` fixtures isolate as `db` does: a test's writes, savepoints and all, are
gone after it and never seen by other connections; a commit is caught and cleaned up; rows
left behind are emptied first; and the demo copied in has its triggers back on."""
import pytest
from sqlalchemy import text

from tests.conftest import rolled_back

INSERT_PLACE = text(
    "INSERT INTO places (kind, source, source_id, name, geom, location_precision) VALUES "
    "('mutual_aid_group', 'isolation', :sid, :sid, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
    ":precision) RETURNING id")


def add_place(connection, source_id, lon=-1.78, lat=53.64, precision="exact"):
    return connection.execute(INSERT_PLACE, {"sid": source_id, "lon": lon, "lat": lat,
                                             "precision": precision}).scalar_one()


def places(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM places")).scalar_one()


def test_writes_are_seen_inside_and_gone_afterwards(engine):
    with rolled_back(engine) as connection:
        add_place(connection, "a")
        with connection.begin_nested():  # as code under test may
            add_place(connection, "b")
        assert places(connection) == 2
        with engine.connect() as other:
            assert places(other) == 0
    with engine.connect() as other:
        assert places(other) == 0


def test_a_commit_fails_the_test_and_is_emptied(engine):
    with pytest.raises(pytest.fail.Exception, match="committed"), \
            rolled_back(engine) as connection:
        add_place(connection, "committed")
        connection.commit()
    with engine.connect() as other:
        assert places(other) == 0


def test_rows_left_committed_are_emptied_first(engine):
    with engine.begin() as other:
        add_place(other, "left behind")
    with rolled_back(engine) as connection:
        assert places(connection) == 0


def test_the_demo_is_restored_uncommitted_with_triggers_back_on(demo_connection, engine,
                                                                _demo_snapshot):
    counts, _ = _demo_snapshot
    assert demo_connection.execute(text("SHOW session_replication_role")).scalar() == "origin"
    assert demo_connection.execute(text(
        "SELECT count(*) FROM areas WHERE kind = 'ward'")).scalar() == counts["wards"]
    with engine.connect() as other:
        assert places(other) == 0
    version = demo_connection.execute(text("SELECT version FROM data_version")).scalar()
    # An area-level group in a real ward: the triggers give it a public location away from
    # its point and bump the data version, as they would on any committed database.
    ward, lon, lat = demo_connection.execute(text(
        "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM areas WHERE kind = 'ward' ORDER BY code LIMIT 1")).one()
    pid = add_place(demo_connection, "new", lon, lat, "area")
    shown, real = demo_connection.execute(text(
        "SELECT ST_AsText(public_geom), ST_AsText(geom) FROM places WHERE id = :id"),
        {"id": pid}).one()
    assert shown != real
    assert demo_connection.execute(text("SELECT version FROM data_version")).scalar() > version
    # And an updated boundary is cut into parts again.
    demo_connection.execute(text("DELETE FROM area_parts WHERE code = :c"), {"c": ward})
    demo_connection.execute(text("UPDATE areas SET name = name WHERE code = :c"), {"c": ward})
    assert demo_connection.execute(text(
        "SELECT count(*) FROM area_parts WHERE code = :c"), {"c": ward}).scalar() > 0
