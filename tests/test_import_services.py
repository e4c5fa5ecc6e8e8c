"""`assetmap services FILE`: services loaded from a file onto the real Kirklees wards and
LSOAs and the real mutual aid groups (the May 2020 API export), then read back through
/openreferral and checked against the UK profile's schemas. The truths are the files
themselves and shapely on the real boundaries, not the importer's SQL."""
from __future__ import annotations

import json
from functools import cache

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text
from test_import_helpers import (
    LSOAS,
    load_boundaries,
    load_places,
    load_wards,
    options,
    problems,
    rows,
    run,
    scalar,
    ward_of,
    warnings,
    write_csv,
)
from test_openreferral import check, get, walk

from importers.services import import_services
from layers.openreferral import stable_uuid
from tests.conftest import shared_data

API = "mutual-aid/api-response-2020-05.json"
HEADER = ["id", "service", "place", "organisation", "wards", "opening hours", "min age",
          "max age", "free", "cost", "languages", "accessibility", "categories", "email"]


def load_services(engine, path, **given):
    """`assetmap services PATH`, as a library call: the importer's report."""
    return import_services(engine, path, options(**given))


@cache
def kirklees_groups() -> list[dict]:
    """The export's groups whose point is in a real Kirklees ward (shapely's truth): the
    rest would only be left out as outside the district, at some seconds per test."""
    body = json.loads(json.loads(shared_data(API).read_text())["body"])
    inside = []
    for group in body:
        point = group.get("location_coord") or {}
        try:
            lon, lat = float(point["lng"]), float(point["lat"])
        except (KeyError, TypeError, ValueError):
            continue
        if ward_of(lon, lat):
            inside.append(group)
    return inside


@pytest.fixture
def groups(db, tmp_path):
    """The real wards, and the real mutual aid groups of the API export in them (their
    contacts private, as the export's groups are)."""
    wards = load_wards(db)
    path = tmp_path / "kirklees-groups.json"
    path.write_text(json.dumps({"body": json.dumps(kirklees_groups())}))
    report = load_places(db, "mutual-aid", path, source="mutual-aid")
    assert report.status == "committed", report.lines()
    assert report.counts["inserted"] == len(kirklees_groups()) > 20
    found = rows(db, "SELECT id, name, source_id, ward_code FROM places "
                     "WHERE ward_code IS NOT NULL ORDER BY name, id")
    assert len(found) == len(kirklees_groups()), found
    return wards, found


def service_id(source: str, source_id: str) -> str:
    return stable_uuid(f"service:{source}:{source_id}")


def test_services_load_onto_real_groups_with_organisations_areas_and_hours(groups, db, client,
                                                                           tmp_path):
    wards, found = groups
    names = {code: name for code, (name, _) in wards.items()}
    first, second, third = found[:3]
    path = write_csv(tmp_path / "services.csv", HEADER, [
        # by the place's name, wards by name and by code
        ["food-1", "Food parcels", first.name, "Kirklees Food Network",
         f"{names[first.ward_code]}; {third.ward_code}", ("Mon-Fri 10:00-14:00, closed bank "
         "holidays"), "", "", "yes", "", "English; Urdu", "step-free access", "Food", ""],
        # by the place's number; hours partly not understood
        ["club-1", "Homework club", str(second.id), "", "", ("Tuesdays 16:00-18:00; "
         "whenever the hall is free"), "8", "16", "no", "£1 a session", "en, pa", "", "learning",
         ""],
        # no place: district-wide, by phone
        ["line-1", "Befriending line", "", "Kirklees Food Network", "", "Daily 9-5", "65", "",
         "true", "", "", "", "befriending", "line@example.org"],
    ])
    report = load_services(db, path, source="council-services")
    assert report.status == "committed", report.lines()
    assert (report.rows, report.invalid, report.warnings) == (3, 0, 0)
    assert report.counts == {"inserted": 3, "updated": 0, "unchanged": 0,
                             "organisations added": 1, "areas changed": 1}
    assert any("'whenever the hall is free'" in n for n in report.notes), report.notes

    food = get(client, f"/openreferral/services/{service_id('council-services', 'food-1')}")
    check(food, "compiled/service.json")
    assert food["organization"]["name"] == "Kirklees Food Network"
    assert [lang["code"] for lang in food["languages"]] == ["en", "ur"]
    assert food["service_at_locations"][0]["location"]["external_identifier"] == str(first.id)
    # The area is the union of the two real wards, as shapely draws them.
    (area,) = food["service_areas"]
    assert area["name"] == ", ".join(sorted({names[first.ward_code], names[third.ward_code]}))
    truth = shapely.union_all([wards[first.ward_code][1], wards[third.ward_code][1]])
    stored = shapely.from_wkb(scalar(db, "SELECT ST_AsBinary(geom) FROM service_areas"))
    assert stored.symmetric_difference(truth).area < truth.area * 1e-9
    # Published at the feeds' precision (5 decimal places, about a metre).
    drawn = shape(json.loads(area["extent"]))
    assert drawn.symmetric_difference(truth).area < truth.area * 1e-3
    assert [s["byday"] for s in food["schedules"]] == ["MO,TU,WE,TH,FR"]

    club = get(client, f"/openreferral/services/{service_id('council-services', 'club-1')}")
    check(club, "compiled/service.json")
    assert (club["minimum_age"], club["maximum_age"]) == (8, 16)
    assert club["service_at_locations"][0]["location"]["external_identifier"] == str(second.id)
    assert club["organization"]["name"] == second.name  # the place's own organisation
    assert any(c.get("amount_description") == "£1 a session" for c in club["cost_options"])

    line = get(client, f"/openreferral/services/{service_id('council-services', 'line-1')}")
    assert line["service_at_locations"] == [] and line["email"] == "line@example.org"
    assert [s["byday"] for s in line["schedules"]] == ["MO,TU,WE,TH,FR,SA,SU"]
    listed = {s["id"] for s in walk(client, "/openreferral/services", per_page=100)}
    assert {service_id("council-services", k) for k in ("food-1", "club-1", "line-1")} <= listed

    again = load_services(db, path, source="council-services")
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": 3,
                            "organisations added": 0, "areas changed": 0}, again.lines()
    # The report names what was not understood on every run, not only when it changed.
    assert any("'whenever the hall is free'" in n for n in again.notes), again.notes


def test_a_place_with_services_of_its_own_no_longer_stands_for_a_derived_one(
        groups, db, client, tmp_path):
    _, found = groups
    place = found[0]
    derived = str(scalar(db, "SELECT service_uuid FROM places WHERE id = :id", id=place.id))
    before = {s["id"] for s in walk(client, "/openreferral/services", per_page=100)}
    assert derived in before
    path = write_csv(tmp_path / "one.csv", ["id", "name", "place"],
                     [["s1", "Drop-in", str(place.id)]])
    assert load_services(db, path, source="one").status == "committed"
    after = {s["id"] for s in walk(client, "/openreferral/services", per_page=100)}
    assert after - before == {service_id("one", "s1")}
    assert before - after == {derived}


def test_bad_rows_are_named_with_their_reason_and_nothing_is_written(groups, db, tmp_path):
    _, found = groups
    taken = found[0]
    db_places = dict(rows(db, "SELECT lower(name), count(*) FROM places GROUP BY 1"))
    # The export has groups of the same name ("Dewsbury South Covid-19 Community Action").
    shared_name = next(n for n, c in sorted(db_places.items()) if c > 1)
    header = ["id", "name", "place", "wards", "min age", "max age", "languages", "status",
              "area"]
    bad_rows = [
        ["a", "Good one", taken.name, "", "", "", "", "", ""],
        ["b", "Nowhere", "The Moon", "", "", "", "", "", ""],
        ["c", "Ages", "", "", "20", "10", "", "", ""],
        ["d", "Ward", "", "Atlantis; Batley East", "", "", "", "", ""],
        ["e", "Talk", "", "", "", "", "Klingon", "", ""],
        ["a", "Twice", "", "", "", "", "", "", ""],
        ["f", "Status", "", "", "", "", "", "thriving", ""],
        ["g", "Far away", "", "", "", "", "", "", "POLYGON((0 51, 0.1 51, 0.1 51.1, 0 51))"],
        ["h", "Bow tie", "", "", "", "", "", "", ("POLYGON((-1.7 53.6, -1.6 53.7, -1.6 53.6, "
                                                 "-1.7 53.7, -1.7 53.6))")],
        ["i", "A point", "", "", "", "", "", "", "POINT(-1.7 53.6)"],
        ["", "No id", "", "", "", "", "", "", ""],
        ["j", "Old", "", "", "", "", "", "", ""],
    ]
    bad_rows.append(["k", "Which", shared_name, "", "", "", "", "", ""])
    path = write_csv(tmp_path / "bad.csv", header, bad_rows)
    report = load_services(db, path)
    assert report.status == "failed"
    found_problems = problems(report)
    expected = [
        (2, "place", "no place on the map has the number, id or name 'The Moon'"),
        (3, "maximum_age", "the maximum age (10) is below the minimum age (20)"),
        (4, "area_wards", ("no ward is called 'Atlantis' (give the ward's name or code, e.g. "
                          "'Ashbrow' or 'E05001389')")),
        (6, "source_id", "the id 'a' is also on row 1"),
        (7, "status", ("'thriving' is not a service status (one of active, defunct, inactive, "
                      "temporarily closed)")),
        (8, "area", ("the area does not reach any ward of the district (is its CRS right? it "
                    "was read as EPSG:4326)")),
        (10, "area", "a service area is a polygon, not a Point"),
        (11, "source_id", "the id (id) is empty"),
    ]
    for problem in expected:
        assert problem in found_problems, (problem, found_problems)
    (talk,) = [p for p in found_problems if p[0] == 5]
    assert talk[1] == "languages" and talk[2].startswith("'Klingon': not a language")
    (bow,) = [p for p in found_problems if p[0] == 9]
    assert bow[1] == "area" and bow[2].startswith("the area is not a valid polygon: "
                                                  "Self-intersection")
    (which,) = [p for p in found_problems if p[0] == 13]
    assert " places have the name " in which[2] and "give the place's number" in which[2]
    assert report.invalid == len(bad_rows) - 2  # row 1 and row 12 are good
    assert scalar(db, "SELECT count(*) FROM services") == 0
    assert scalar(db, "SELECT count(*) FROM service_areas") == 0

    skipped = load_services(db, path, skip_invalid=True)
    assert skipped.status == "committed", skipped.lines()
    assert skipped.counts["inserted"] == 2
    assert sorted(r.source_id for r in rows(db, "SELECT source_id FROM services")) == ["a", "j"]
    assert scalar(db, "SELECT place_id FROM services WHERE source_id = 'a'") == taken.id


def test_a_place_s_private_e_mail_is_left_out_of_its_service(groups, db, client, tmp_path):
    _, found = groups
    place = found[0]
    # No Kirklees group in the export gives an e-mail address; an editor recorded the
    # organiser's own, kept private as the export's contacts are.
    with db.begin() as connection:
        connection.execute(text("UPDATE places SET email = 'organiser@example.org' "
                                "WHERE id = :id"), {"id": place.id})
    assert not scalar(db, "SELECT email_public FROM places WHERE id = :id", id=place.id)
    path = write_csv(tmp_path / "mail.csv", ["id", "name", "place", "email"],
                     [["m1", "Shopping help", str(place.id), "Organiser@Example.org"]])
    report = load_services(db, path, source="mail")
    assert report.status == "committed", report.lines()
    assert warnings(report) == [(1, "email", ("this is the place's private e-mail address and "
                                             "a service's is published; left out"))]
    assert scalar(db, "SELECT email FROM services") is None
    record = get(client, f"/openreferral/services/{service_id('mail', 'm1')}")
    assert "organiser@example.org" not in json.dumps(record).lower()


def test_areas_from_lsoas_and_polygons_update_and_prune(groups, db, tmp_path):
    wards, _ = groups
    assert load_boundaries(db, "lsoas", shared_data(LSOAS), code_field="LSOA11CD",
                           name_field="LSOA11NM").status == "committed"
    lsoas = {f["properties"]["LSOA11CD"]: shape(f["geometry"])
             for f in json.loads(shared_data(LSOAS).read_text())["features"]}
    two = sorted(lsoas)[:2]
    _, (_, ward) = min(wards.items())
    square = shapely.box(*ward.centroid.buffer(0.01).bounds)
    features = [
        {"type": "Feature", "geometry": None,
         "properties": {"id": "l1", "name": "Door-knocking", "lsoas": ";".join(two)}},
        {"type": "Feature", "geometry": shapely.geometry.mapping(square),
         "properties": {"id": "p1", "name": "Street litter pick", "area_name": "Town centre"}},
        {"type": "Feature", "geometry": None, "properties": {"id": "gone", "name": "Old"}},
    ]
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = load_services(db, path, source="areas")
    assert report.status == "committed", report.lines()
    assert report.counts["areas changed"] == 2
    stored = {r.source_id: r for r in rows(db, """
        SELECT s.source_id, a.name, a.area_kind, a.area_codes, ST_AsBinary(a.geom) AS wkb
          FROM services s JOIN service_areas a ON a.service_id = s.id""")}
    assert stored["l1"].area_kind == "lsoa" and stored["l1"].area_codes == two
    truth = shapely.union_all([lsoas[c] for c in two])
    assert shapely.from_wkb(stored["l1"].wkb).symmetric_difference(truth).area < 1e-9
    assert (stored["p1"].name, stored["p1"].area_kind) == ("Town centre", None)
    assert shapely.from_wkb(stored["p1"].wkb).equals(square)

    # The file again, without "gone" and with p1's area removed: updated and pruned.
    features[1]["geometry"] = None
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features[:2]}))
    again = load_services(db, path, source="areas", prune=True)
    assert again.status == "committed", again.lines()
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": 2, "areas changed": 1,
                            "pruned": 1}
    assert rows(db, "SELECT source_id FROM services WHERE deleted_at IS NOT NULL") == [
        ("gone",)]
    assert scalar(db, "SELECT count(*) FROM service_areas") == 1


def test_the_command_prints_the_report_and_fails_on_a_refused_row(groups, runner, tmp_path):
    """Drives the CLI deliberately: its exit code and its printed problems."""
    path = write_csv(tmp_path / "cli.csv", ["id", "name", "place"],
                     [["1", "Drop-in", "The Moon"]])
    result = run(runner, "services", path)
    assert result.exit_code == 1
    assert "no place on the map has the number, id or name 'The Moon'" in result.output
