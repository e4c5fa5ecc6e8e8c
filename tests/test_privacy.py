"""Where a place may be shown: an area-level place is published at its coverage area or
inside its own ward and LSOA, never at the point it was imported with."""
from sqlalchemy import text

WARD = "POLYGON((-1.80 53.60, -1.70 53.60, -1.70 53.70, -1.80 53.70, -1.80 53.60))"
NEIGHBOURHOOD = "POLYGON((-1.76 53.64, -1.74 53.64, -1.74 53.66, -1.76 53.66, -1.76 53.64))"


def area(connection, kind, code, wkt):
    connection.execute(text("INSERT INTO areas (kind, code, name, geom) VALUES (:k, :c, :c, "
                            "ST_Multi(ST_GeomFromText(:w, 4326)))"), {"k": kind, "c": code, "w": wkt})


def place(connection, source_id, lon, lat, precision="exact", kind="mutual_aid_group"):
    return connection.execute(text(
        "INSERT INTO places (kind, source, source_id, name, geom, location_precision) VALUES "
        "(:kind, 't', :sid, :sid, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :p) RETURNING id"),
        {"kind": kind, "sid": source_id, "lon": lon, "lat": lat, "p": precision}).scalar()


def public(connection, place_id):
    return connection.execute(text(
        "SELECT ST_AsText(public_geom), ST_AsText(geom) FROM places WHERE id = :id"),
        {"id": place_id}).one()


def test_exact_places_are_published_where_they_are(connection):
    pid = place(connection, "a", -1.75, 53.65)
    shown, real = public(connection, pid)
    assert shown == real == "POINT(-1.75 53.65)"


EAST_WARD = "POLYGON((-1.70 53.60, -1.60 53.60, -1.60 53.70, -1.70 53.70, -1.70 53.60))"
# A neighbourhood and an LSOA that straddle the two wards, as real ones do.
STRADDLING = "POLYGON((-1.72 53.64, -1.66 53.64, -1.66 53.66, -1.72 53.66, -1.72 53.64))"


def inside(connection, wkt_point, code):
    return connection.execute(text(
        "SELECT ST_Intersects(geom, ST_GeomFromText(:p, 4326)) FROM areas WHERE code = :c"),
        {"p": wkt_point, "c": code}).scalar()


def test_an_area_level_place_is_shown_inside_its_own_ward_and_lsoa_never_its_point(connection):
    area(connection, "ward", "W", WARD)
    area(connection, "ward", "E", EAST_WARD)
    area(connection, "neighbourhood", "N", STRADDLING)
    area(connection, "lsoa", "L", STRADDLING)
    west = place(connection, "a", -1.7123, 53.6511, "area")
    east = place(connection, "b", -1.6711, 53.6523, "area")
    ward_only = place(connection, "c", -1.7811, 53.6123, "area")
    outside = place(connection, "d", -1.9876, 53.5432, "area")
    shown = {pid: public(connection, pid)[0] for pid in (west, east, ward_only, outside)}
    # Each is shown in its own ward, in the part of its LSOA that lies in that ward.
    assert inside(connection, shown[west], "W") and not inside(connection, shown[west], "E")
    assert inside(connection, shown[west], "L")
    assert inside(connection, shown[east], "E") and not inside(connection, shown[east], "W")
    assert inside(connection, shown[east], "L")
    ward_point = connection.execute(text(
        "SELECT ST_AsText(ST_PointOnSurface(geom)) FROM areas WHERE code = 'W'")).scalar()
    wards = dict(connection.execute(text("SELECT id, ward_code FROM places")).all())
    assert shown[ward_only] == ward_point
    assert wards[west] is None or wards[west] == "W"
    for pid, real in ((west, "-1.7123 53.6511"), (east, "-1.6711 53.6523"),
                      (ward_only, "-1.7811 53.6123")):
        assert shown[pid] != f"POINT({real})"
    assert shown[outside] != "POINT(-1.9876 53.5432)"
    assert "-1.9876" not in shown[outside] and "53.5432" not in shown[outside]


def test_a_group_with_a_coverage_area_is_shown_as_that_area(connection):
    pid = place(connection, "a", -1.7523, 53.6511, "area")
    connection.execute(text(
        "INSERT INTO mutual_aid_groups (place_id, coverage) VALUES (:id, "
        "ST_Multi(ST_GeomFromText(:w, 4326)))"), {"id": pid, "w": NEIGHBOURHOOD})
    shown, _ = public(connection, pid)
    assert shown.startswith("MULTIPOLYGON")


def test_changing_precision_moves_the_public_location(connection):
    area(connection, "ward", "W", WARD)
    pid = place(connection, "a", -1.7811, 53.6123, "exact")
    assert public(connection, pid)[0] == "POINT(-1.7811 53.6123)"
    connection.execute(text("UPDATE places SET location_precision = 'area' WHERE id = :id"),
                       {"id": pid})
    assert public(connection, pid)[0] != "POINT(-1.7811 53.6123)"
    connection.execute(text("UPDATE places SET location_precision = 'exact' WHERE id = :id"),
                       {"id": pid})
    assert public(connection, pid)[0] == "POINT(-1.7811 53.6123)"


def test_reloading_boundaries_moves_area_places_with_them(connection):
    area(connection, "ward", "W", WARD)
    pid = place(connection, "a", -1.7811, 53.6123, "area")
    before = public(connection, pid)[0]
    connection.execute(text("DELETE FROM areas"))
    area(connection, "ward", "W2", "POLYGON((-1.79 53.61, -1.77 53.61, -1.77 53.62, -1.79 53.62, -1.79 53.61))")
    connection.execute(text("SELECT assetmap_assign_areas()"))
    after = public(connection, pid)[0]
    assert before != after
    assert after != "POINT(-1.7811 53.6123)"


def test_no_demo_mutual_aid_group_is_published_at_its_own_point(demo_connection):
    leaked = demo_connection.execute(text(
        "SELECT count(*) FROM places WHERE location_precision = 'area' "
        "AND ST_Intersects(public_geom, geom) AND GeometryType(public_geom) = 'POINT'")).scalar()
    groups = demo_connection.execute(text(
        "SELECT count(*) FROM places WHERE kind = 'mutual_aid_group' "
        "AND location_precision = 'area'")).scalar()
    assert groups == 130
    assert leaked == 0


def test_demo_coverage_areas_are_not_centred_on_the_groups_points(demo_connection):
    centred = demo_connection.execute(text(
        "SELECT count(*) FROM places p JOIN mutual_aid_groups m ON m.place_id = p.id "
        "WHERE ST_DWithin(ST_Centroid(ST_Transform(m.coverage, 27700)), p.geom_bng, 50)")).scalar()
    assert centred < 5  # only where a group happens to sit on a grid point
