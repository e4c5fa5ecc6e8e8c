"""The database itself guards the data: invalid geometries and duplicates are refused,
places are assigned to areas, migrations round-trip, and a data version tracks changes."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from mapping.core import db as database
from tests.conftest import _recreate, with_database

INSERT_PLACE = text(
    "INSERT INTO places (kind, source, source_id, name, geom) "
    "VALUES (:kind, :source, :source_id, :name, ST_GeomFromText(:wkt, 4326)) RETURNING id")


def add_place(connection, wkt="POINT(-1.78 53.64)", source_id="a", kind="community_asset",
              source="test", name="Test place"):
    return connection.execute(INSERT_PLACE, {"kind": kind, "source": source, "source_id": source_id,
                                             "name": name, "wkt": wkt}).scalar_one()


def add_area(connection, kind, code, wkt):
    connection.execute(text(
        "INSERT INTO areas (kind, code, name, geom) VALUES (:kind, :code, :code, "
        "ST_Multi(ST_GeomFromText(:wkt, 4326)))"), {"kind": kind, "code": code, "wkt": wkt})


def test_self_intersecting_polygon_is_refused(connection):
    bow_tie = "POLYGON((-1.78 53.64, -1.77 53.65, -1.77 53.64, -1.78 53.65, -1.78 53.64))"
    with pytest.raises(IntegrityError, match="places_geom_valid"), connection.begin_nested():
        add_place(connection, wkt=bow_tie, kind="transferred_building")


@pytest.mark.parametrize("wkt", ["LINESTRING(-1.78 53.64, -1.77 53.65)", "POINT(200 53)",
                                 "POINT EMPTY"])
def test_wrong_geometry_types_and_coordinates_are_refused(connection, wkt):
    with pytest.raises(IntegrityError), connection.begin_nested():
        add_place(connection, wkt=wkt)


def test_duplicate_source_and_source_id_is_refused(connection):
    add_place(connection, source_id="42")
    with pytest.raises(IntegrityError, match="places_source_key"), connection.begin_nested():
        add_place(connection, source_id="42")
    add_place(connection, source_id="42", source="another source")
    assert connection.execute(text("SELECT count(*) FROM places")).scalar() == 2


def test_unknown_kind_and_blank_name_are_refused(connection):
    with pytest.raises(IntegrityError), connection.begin_nested():
        add_place(connection, kind="pub")
    with pytest.raises(IntegrityError), connection.begin_nested():
        add_place(connection, name="  ")


def test_places_are_assigned_to_their_ward_and_neighbourhoods(connection):
    add_area(connection, "ward", "W-WEST", "POLYGON((-1.80 53.60, -1.75 53.60, -1.75 53.70, -1.80 53.70, -1.80 53.60))")
    add_area(connection, "ward", "W-EAST", "POLYGON((-1.75 53.60, -1.70 53.60, -1.70 53.70, -1.75 53.70, -1.75 53.60))")
    add_area(connection, "neighbourhood", "N1", "POLYGON((-1.76 53.64, -1.74 53.64, -1.74 53.66, -1.76 53.66, -1.76 53.64))")
    west = add_place(connection, wkt="POINT(-1.78 53.65)", source_id="w")
    east = add_place(connection, wkt="POINT(-1.72 53.65)", source_id="e")
    # A footprint straddling the ward line: its ward is where a point on its surface is;
    # it is in the neighbourhood it touches.
    straddle = add_place(connection, kind="transferred_building", source_id="s",
                         wkt="POLYGON((-1.7505 53.65, -1.7450 53.65, -1.7450 53.651, -1.7505 53.651, -1.7505 53.65))")
    changed = connection.execute(text("SELECT assetmap_assign_areas()")).scalar()
    assert changed == 3
    rows = dict(connection.execute(text(
        "SELECT id, ward_code || ':' || array_to_string(neighbourhood_codes, ',') FROM places")).all())
    assert rows[west] == "W-WEST:"
    assert rows[east] == "W-EAST:"
    assert rows[straddle] in ("W-EAST:N1", "W-WEST:N1")
    assert connection.execute(text("SELECT assetmap_assign_areas()")).scalar() == 0


def test_reloading_a_boundary_reassigns_places(connection):
    add_area(connection, "ward", "OLD", "POLYGON((-1.80 53.60, -1.70 53.60, -1.70 53.70, -1.80 53.70, -1.80 53.60))")
    place = add_place(connection, wkt="POINT(-1.78 53.65)")
    connection.execute(text("SELECT assetmap_assign_areas()"))
    connection.execute(text("DELETE FROM areas WHERE code = 'OLD'"))
    add_area(connection, "ward", "NEW", "POLYGON((-1.80 53.60, -1.70 53.60, -1.70 53.70, -1.80 53.70, -1.80 53.60))")
    connection.execute(text("SELECT assetmap_assign_areas()"))
    assert connection.execute(text("SELECT ward_code FROM places WHERE id = :id"),
                              {"id": place}).scalar() == "NEW"
    parts = connection.execute(text("SELECT count(*), min(code) FROM area_parts")).one()
    assert parts == (1, "NEW")


def test_data_version_changes_on_real_changes_only(connection):
    def version():
        return connection.execute(text("SELECT version FROM data_version")).scalar()

    before = version()
    add_place(connection)
    after_insert = version()
    connection.execute(text("UPDATE places SET name = name WHERE false"))
    after_no_op = version()
    connection.execute(text("UPDATE places SET name = 'Renamed'"))
    after_update = version()
    assert after_insert > before
    assert after_no_op == after_insert
    assert after_update > after_no_op


def test_metric_twin_is_british_national_grid(connection):
    add_place(connection, wkt="POINT(-1.7850 53.6458)", source_id="a")
    add_place(connection, wkt="POINT(-1.7850 53.6548)", source_id="b")
    metres = connection.execute(text(
        "SELECT ST_Distance(a.geom_bng, b.geom_bng), "
        "ST_Distance(a.geom::geography, b.geom::geography) "
        "FROM places a, places b WHERE a.source_id = 'a' AND b.source_id = 'b'")).one()
    # 0.009 degrees of latitude is about 1,001 m; BNG and the spheroid agree within 0.1 %.
    assert 995 < metres[0] < 1008
    assert abs(metres[0] - metres[1]) / metres[1] < 0.001


def test_downgrade_to_base_and_upgrade_round_trips_on_a_populated_database(database_url):
    url = with_database(database_url, make_url(database_url).database + "_roundtrip")
    _recreate(url)
    database.upgrade(url)
    engine = create_engine(url)
    from importers import demo

    with engine.begin() as connection:
        demo.load(connection)
    engine.dispose()
    database.downgrade(url, "base")
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = connection.execute(text(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_name IN ('places', 'areas', 'postcodes')")).scalar()
    assert tables == 0
    engine.dispose()
    database.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert database.current_revision(connection) == database.head_revision()
        assert connection.execute(text("SELECT count(*) FROM places")).scalar() == 0
    engine.dispose()
