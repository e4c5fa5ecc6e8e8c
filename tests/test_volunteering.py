""""I'm in" on real data: volunteering opportunities loaded onto the real mutual aid groups
of the May 2020 API export in the real Kirklees wards, need against provision on the real
LSOAs, IMD 2019 and mid-2015 population, and outcomes published with small counts
suppressed. The truths are the published files and shapely on the real boundaries."""
from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, shape
from sqlalchemy import text
from test_import_helpers import (
    LSOAS,
    load_boundaries,
    load_deprivation,
    load_population,
    options,
    problems,
    rows,
    scalar,
    warnings,
    write_csv,
)

# The real wards and the export's Kirklees groups (a fixture).
from test_import_services import groups as real_groups  # noqa: F401

from importers.opportunities import import_opportunities
from layers import volunteering
from layers.openreferral import stable_uuid
from tests.conftest import shared_data

HEADER = ["id", "title", "place", "organisation", "initiative", "commitment",
          "hours_per_week", "when", "start_date", "closing_date", "minimum_age", "dbs_check",
          "skills", "apply_url", "apply_email", "apply_phone"]
IMD = "kirklees/imd-2019-lsoa.csv"
POPULATION = "kirklees/population-2015-lsoa.csv"
TODAY = datetime.now(ZoneInfo("Europe/London")).date()


def load(engine, path, **given):
    return import_opportunities(engine, path, options(**given))


def opportunity_id(source: str, source_id: str) -> str:
    return stable_uuid(f"opportunity:{source}:{source_id}")


def published(client, layer="volunteering-opportunities") -> dict[str, dict]:
    response = client.get(f"/ogc/collections/{layer}/items?limit=10000")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {f["id"]: f for f in response.get_json()["features"]}


def row(source_id, title, place, **cells) -> list:
    values = {"id": source_id, "title": title, "place": place, **cells}
    return [values.get(column, "") for column in HEADER]


def test_opportunities_load_onto_real_groups_checked_row_by_row(
        real_groups, db, client, tmp_path):  # noqa: F811
    wards, found = real_groups
    first, second, third, fourth = found[:4]
    # The Kirklees groups of the export give no e-mail: one gets its organiser's home
    # address, private, as an editor records one.
    private_email = "organiser@home-mail.example"
    with db.begin() as connection:
        connection.execute(text("UPDATE places SET email = :email, email_public = false "
                                "WHERE id = :id"), {"email": private_email, "id": second.id})
    path = write_csv(tmp_path / "opportunities.csv", HEADER, [
        row("walk-1", "Walking buddy", str(first.id), initiative="Out and About",
            commitment="weekly", hours_per_week="2", when="Tuesdays 10am-12pm",
            minimum_age="18", dbs_check="yes", skills="listening; walking",
            apply_email="walks@example.org"),
        # by the group's id in its own file, the initiative by its id
        row("mentor-1", "Mentor a young man", second.source_id, initiative="mentors",
            commitment="regular", when="Thursday 6-7pm", apply_url="example.org/mentors",
            apply_email=private_email),
        # by name, a one-off on a date
        row("tea-1", "Tea party helper", third.name, commitment="one-off",
            start_date=(TODAY + timedelta(days=10)).isoformat(), skills="baking",
            apply_phone="01484 221000"),
        # closed yesterday: kept, not shown
        row("old-1", "Last winter's role", str(fourth.id), closing_date=(
            TODAY - timedelta(days=1)).isoformat(), apply_url="https://example.org/old"),
        row("bad-1", "Nowhere", "no such group", apply_url="https://example.org/x"),
        row("bad-2", "Too much", str(first.id), commitment="sometimes", hours_per_week="200",
            minimum_age="200", apply_url="https://example.org/x"),
        row("bad-3", "Unknown programme", str(first.id), initiative="Knit and Natter",
            apply_url="https://example.org/x"),
        # its only contact is the group's private address: left out, then nothing is left
        row("bad-4", "Only private", str(second.id), apply_email=private_email),
        row("walk-1", "Twice", str(first.id), apply_url="https://example.org/x"),
    ])
    report = load(db, path, source="im-in")
    assert report.status == "failed", report.lines()
    assert scalar(db, "SELECT count(*) FROM opportunities") == 0
    refused = problems(report)
    assert [(r, f) for r, f, _ in refused] == [
        (5, "place"), (6, "commitment"), (6, "hours_per_week"), (6, "minimum_age"),
        (7, "initiative"), (8, "apply_url"), (9, "source_id")], refused
    reasons = {(r, f): why for r, f, why in refused}
    assert "no place on the map has the number, id or name 'no such group'" in reasons[5, "place"]
    assert "'sometimes' is not a time commitment" in reasons[6, "commitment"]
    assert "Out and About (out-and-about)" in reasons[7, "initiative"]
    assert "is also on row 1" in reasons[9, "source_id"]
    assert all("private e-mail" in why for r, f, why in warnings(report) if r in (2, 8))
    assert [(r, f) for r, f, _ in warnings(report)] == [
        (2, "apply_email"), (4, "closing_date"), (8, "apply_email")], warnings(report)

    report = load(db, path, source="im-in", skip_invalid=True)
    assert report.status == "committed", report.lines()
    assert report.counts == {"inserted": 4, "updated": 0, "unchanged": 0}, report.counts
    features = published(client)
    ids = {key: opportunity_id("im-in", key) for key in ("walk-1", "mentor-1", "tea-1", "old-1")}
    assert set(features) == {ids["walk-1"], ids["mentor-1"], ids["tea-1"]}
    walk = features[ids["walk-1"]]["properties"]
    assert (walk["commitment"], walk["hours_per_week"], walk["days"], walk["initiative"],
            walk["minimum_age"], walk["dbs_check"], walk["skills"]) == (
        "regular", 2, ["TU"], "out-and-about", 18, True, ["listening", "walking"])
    mentor = features[ids["mentor-1"]]["properties"]
    assert mentor["apply_email"] is None and mentor["apply_url"] == "https://example.org/mentors"
    assert mentor["initiative_name"] == "MENtors" and mentor["place_id"] == second.id
    tea = features[ids["tea-1"]]["properties"]
    assert tea["days"] == [list(volunteering.DAY_NAMES)[(TODAY + timedelta(days=10)).weekday()]]
    # Each is drawn at its group's published point, in the group's ward.
    for key, group in (("walk-1", first), ("mentor-1", second), ("tea-1", third)):
        lon, lat = features[ids[key]]["geometry"]["coordinates"]
        shown = rows(db, "SELECT ST_X(public_point), ST_Y(public_point) FROM places "
                         "WHERE id = :id", id=group.id)[0]
        assert math.dist((lon, lat), shown) < 1e-5
        assert features[ids[key]]["properties"]["ward_code"] == group.ward_code
        assert wards[group.ward_code][1].contains(Point(lon, lat))
    page = client.get(f"/help-out/{ids['old-1']}")
    assert page.status_code == 404
    body = client.get(f"/help-out/{ids['walk-1']}").get_data(as_text=True)
    assert "How to say “I'm in”" in body and "walks@example.org" in body

    again = load(db, path, source="im-in", skip_invalid=True)
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": 4}, again.lines()
    pruned = write_csv(tmp_path / "fewer.csv", HEADER, [
        row("walk-1", "Walking buddy", str(first.id), initiative="Out and About",
            commitment="weekly", hours_per_week="3", when="Tuesdays 10am-12pm",
            minimum_age="18", dbs_check="yes", skills="listening; walking",
            apply_email="walks@example.org")])
    report = load(db, pruned, source="im-in", prune=True)
    assert report.counts == {"inserted": 0, "updated": 1, "unchanged": 0, "pruned": 3}
    assert set(published(client)) == {ids["walk-1"]}


def test_a_closed_opportunity_leaves_every_output_and_moves_the_version(
        real_groups, db, client, tmp_path):  # noqa: F811
    _, found = real_groups
    path = write_csv(tmp_path / "closing.csv", HEADER, [
        row("today", "Closes today", str(found[0].id), closing_date=TODAY.isoformat(),
            apply_url="https://example.org/a"),
        row("gone", "Closed yesterday", str(found[1].id),
            closing_date=(TODAY - timedelta(days=1)).isoformat(),
            apply_url="https://example.org/b"),
        row("event", "Yesterday's event", str(found[2].id), commitment="one-off",
            start_date=(TODAY - timedelta(days=1)).isoformat(),
            apply_url="https://example.org/c")])
    assert load(db, path, source="dates").status == "committed"
    shown = {opportunity_id("dates", "today")}
    assert set(published(client)) == shown
    listed = client.get("/help-out.json").get_json()["opportunities"]
    assert {o["id"] for o in listed} == shown
    csv_ids = {line.split(",")[0].strip('"') for line in client.get(
        "/layers/volunteering-opportunities.csv").get_data(as_text=True).splitlines()[1:]}
    assert csv_ids == shown
    stored, closed = rows(db, "SELECT d.version, (SELECT version FROM published_version) "
                              "FROM data_version d")[0]
    # Two have closed by today: the published version says so with no write at midnight.
    assert closed == stored * 1_000_000 + 2
    changed = scalar(db, "SELECT changed_at FROM published_version")
    assert changed >= scalar(db, "SELECT changed_at FROM data_version")


def _local(lon0: float, lat0: float):
    """Longitude/latitude to metres on the GRS80 ellipsoid near (lon0, lat0), equal-area
    (sinusoidal about lon0): within 0.4 % of true distances across Kirklees."""
    a, e2 = 6378137.0, 0.00669438002290
    phi0 = math.radians(lat0)
    m = a * (1 - e2) / (1 - e2 * math.sin(phi0) ** 2) ** 1.5
    n = a / math.sqrt(1 - e2 * math.sin(phi0) ** 2)

    def project(x, y):
        return (np.radians(x - lon0) * n * np.cos(np.radians(y)), np.radians(y - lat0) * m)
    return project


def in_metres(geometry, project):
    """`geometry` in the local metres of `project`."""
    return shapely.transform(geometry, lambda xy: np.column_stack(project(xy[:, 0], xy[:, 1])))


def _published_csv(relative: str) -> list[dict]:
    with open(shared_data(relative), newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_need_against_provision_per_lsoa_agrees_with_shapely_on_the_real_lsoas(
        real_groups, db, client, tmp_path):  # noqa: F811
    _, found = real_groups
    reports = [load_boundaries(db, "lsoas", shared_data(LSOAS)),
               load_deprivation(db, shared_data(IMD)),
               load_population(db, shared_data(POPULATION))]
    assert all(r.status == "committed" for r in reports), [r.lines() for r in reports]
    chosen = found[::4][:6]
    initiative_of = ["out-and-about", "out-and-about", "mentors", "mentors", "", "out-and-about"]
    path = write_csv(tmp_path / "need.csv", HEADER, [
        row(f"n{i}", f"Role {i}", str(group.id), initiative=initiative,
            apply_url="https://example.org/n")
        for i, (group, initiative) in enumerate(zip(chosen, initiative_of))])
    assert load(db, path, source="need").status == "committed"

    features = published(client, "lsoa-need")
    assert len(features) == 259 * 3
    lsoas = {f["properties"]["LSOA11CD"]: shape(f["geometry"]) for f in
             json.loads(shared_data(LSOAS).read_text())["features"]}
    # The files' own columns, by name: total, 0-15, 16-59, 60 and over; IMD decile.
    population = {r["LSOA code (2011)"]: [int(r[c].replace(",", "")) for c in (
        "Total population: mid 2015 (excluding prisoners)",
        "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
        "Population aged 16-59: mid 2015 (excluding prisoners)",
        "Older population aged 60 and over: mid 2015 (excluding prisoners)")]
        for r in _published_csv(POPULATION)}
    deciles = {r["LSOA code (2011)"]: int(r["Index of Multiple Deprivation (IMD) Decile"])
               for r in _published_csv(IMD)}
    assert len(population) == len(deciles) == 259

    points = {}
    for group, initiative in zip(chosen, initiative_of):
        lon, lat = rows(db, "SELECT ST_X(public_point), ST_Y(public_point) FROM places "
                            "WHERE id = :id", id=group.id)[0]
        points.setdefault("everyone", []).append((lon, lat))
        if initiative:
            points.setdefault(initiative, []).append((lon, lat))
    project = _local(-1.78, 53.65)
    reach = {measure: shapely.union_all([in_metres(Point(p), project).buffer(800, 64)
                                         for p in spots])
             for measure, spots in points.items()}
    band = {"everyone": 0, "out-and-about": 3, "mentors": 2}
    checked = 0
    for feature in features.values():
        p = feature["properties"]
        code, measure = p["lsoa_code"], p["measure"]
        area = in_metres(lsoas[code], project)
        share = area.intersection(reach[measure]).area / area.area
        # The file's columns: all ages, 0-15, 16-59, 60 and over.
        total, young, working, older = population[code][:4]
        assert (p["population"], p["population_0_15"], p["population_16_59"],
                p["population_60_plus"]) == (total, young, working, older), code
        assert p["imd_decile"] == deciles[code]
        target = (total, young, working, older)[band[measure]]
        assert p["target_residents"] == target
        assert p["covered_share"] == pytest.approx(share, abs=0.01), (code, measure)
        weight = (11 - deciles[code]) / 10
        assert p["deprivation_weight"] == pytest.approx(weight)
        assert p["need_score"] == pytest.approx(target * (1 - share) * weight,
                                                abs=max(2, 0.01 * target)), (code, measure)
        within = sum(1 for spot in points[measure]
                     if in_metres(Point(spot), project).distance(area) <= 800)
        assert p["opportunities_within"] == within, (code, measure)
        checked += share > 0
    assert checked >= 6, "some LSOAs must be partly covered for the test to mean anything"

    # The district table ranks by score, highest first, and the ward page shows its own.
    ranked = client.get("/need.json?measure=out-and-about").get_json()["lsoas"]
    scores = [r["need_score"] for r in ranked]
    assert scores == sorted(scores, reverse=True) and len(ranked) == 259
    assert [r["rank"] for r in ranked] == list(range(1, 260))
    ward = chosen[0].ward_code
    page = client.get(f"/wards/{ward}.json").get_json()
    mine = page["need"]["out-and-about"]
    assert mine == [r for r in ranked if r["ward_code"] == ward]
    assert {o["place_id"] for o in page["opportunities"]} >= {chosen[0].id}
    assert chosen[0].id not in {p["id"] for p in page["places_without_opportunities"]}
    assert client.get("/need.json?measure=nope").status_code == 400


def test_outcomes_are_published_as_aggregates_with_small_counts_suppressed(
        real_groups, db, client):  # noqa: F811
    _, found = real_groups
    place, ward = found[0], found[0].ward_code
    with db.begin() as connection:
        connection.execute(text("""
            INSERT INTO outcomes (initiative_id, period_start, period_end, place_id,
                                  ward_code, people_supported, sessions_held, volunteers,
                                  volunteer_hours, measure, better, measured_people,
                                  score_before, score_after, notes)
            VALUES ('out-and-about', '2026-04-01', '2026-06-30', :place, NULL, 38, 24, 3,
                    96, 'UCLA 3-item loneliness scale (3 to 9)', 'lower', 31, 7.1, 5.4,
                    'Mrs Example felt much better'),
                   ('out-and-about', '2026-04-01', '2026-06-30', NULL, :ward, 4, 6, 12,
                    40, 'UCLA 3-item loneliness scale (3 to 9)', 'lower', 3, 8.0, 4.0,
                    NULL),
                   ('mentors', '2026-04-01', '2026-06-30', NULL, NULL, 0, 0, 7, 14,
                    NULL, NULL, NULL, NULL, NULL, NULL)"""),
            {"place": place.id, "ward": ward})
    assert scalar(db, "SELECT assetmap_suppressed(:n)", n=volunteering.SUPPRESSED_BELOW) == \
        volunteering.SUPPRESSED_BELOW
    assert scalar(db, "SELECT assetmap_suppressed(:n)",
                  n=volunteering.SUPPRESSED_BELOW - 1) is None
    document = client.get("/outcomes.json?initiative=out-and-about").get_json()
    by_level = {o["level"]: o for o in document["outcomes"]}
    assert by_level["place"]["people_supported"] == 38
    assert by_level["place"]["volunteers"] is None and by_level["place"]["volunteers_suppressed"]
    assert (by_level["place"]["score_before"], by_level["place"]["score_after"],
            by_level["place"]["improved"]) == (7.1, 5.4, True)
    assert by_level["ward"]["people_supported"] is None
    assert by_level["ward"]["score_before"] is None and by_level["ward"]["scores_suppressed"]
    assert by_level["ward"]["volunteers"] == 12
    (total,) = document["totals"]
    # Only the figures shown are added up: no total gives a suppressed one away.
    assert (total["people_supported"], total["volunteers"], total["suppressed"]) == (38, 12, 2)
    body = client.get("/outcomes.csv?ward=" + ward).get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(body)))
    assert {r["people_supported"] for r in table} == {"38", ""}
    assert client.get("/outcomes.json?colour=red").status_code == 400
    # Zero is shown (it identifies no one); the mentors' district row has no place or ward.
    mentors = client.get("/initiatives/mentors.json").get_json()
    assert mentors["outcomes"][0]["people_supported"] == 0
    for url in ("/outcomes.json", "/outcomes.csv", "/initiatives/out-and-about",
                "/initiatives/out-and-about.json", f"/wards/{ward}", f"/wards/{ward}.json"):
        text_ = client.get(url).get_data(as_text=True)
        assert "Mrs Example" not in text_, url
        assert "8.0" not in text_ and "4.0 " not in text_, url
    page = client.get("/initiatives/out-and-about").get_data(as_text=True)
    assert "fewer than 5" in page and "38" in page


def test_the_help_out_finder_filters_as_the_rows_say(demo_data, db, client, tmp_path):
    places = rows(db, "SELECT id, ward_code, ST_X(public_point), ST_Y(public_point) "
                      "FROM places WHERE deleted_at IS NULL AND kind = 'community_asset' "
                      "ORDER BY id LIMIT 12")
    specs = [
        # (commitment, when, minimum age, skills)
        ("regular", "Tuesdays 10am-12pm", 18, "listening"),
        ("regular", "Saturday 9-11", 16, "gardening; driving"),
        ("flexible", "", None, "listening"),
        ("one-off", "", 14, "baking"),
        ("regular", "Mon-Fri 9-5", 21, "driving"),
        ("flexible", "Sundays", None, ""),
    ]
    lines = []
    for i, (place, (kind, when, age, skills)) in enumerate(zip(places, specs)):
        start = (TODAY + timedelta(days=3)).isoformat() if kind == "one-off" else ""
        lines.append(row(f"f{i}", f"Finder role {i}", str(place.id), commitment=kind,
                         when=when, start_date=start, minimum_age=age or "", skills=skills,
                         apply_url="https://example.org/f"))
    path = write_csv(tmp_path / "finder.csv", HEADER, lines)
    assert load(db, path, source="finder").status == "committed"
    event_day = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[(TODAY + timedelta(days=3)).weekday()]
    days_of = [{"TU"}, {"SA"}, set(), {event_day}, {"MO", "TU", "WE", "TH", "FR"}, {"SU"}]

    def asked(**query):
        # Only this test's roles (the demo has its own): the finder's text search.
        response = client.get("/help-out.json", query_string={"q": "Finder role", **query})
        assert response.status_code == 200, response.get_data(as_text=True)
        return {o["title"] for o in response.get_json()["opportunities"]}

    def truth(keep):
        return {f"Finder role {i}" for i, spec in enumerate(specs) if keep(i, *spec)}

    for day in ("MO", "TU", "SA", "SU"):
        assert asked(day=day) == truth(lambda i, kind, *_, day=day: day in days_of[i] or (
            kind == "flexible" and not days_of[i])), day
    for kind in volunteering.COMMITMENTS:
        assert asked(commitment=kind) == truth(lambda i, k, *_, kind=kind: k == kind)
    for age in (14, 17, 20):
        assert asked(age=age) == truth(
            lambda i, k, w, minimum, s, age=age: (minimum or 0) <= age)
    for skill in ("listening", "driving"):
        assert asked(skill=skill) == truth(
            lambda i, k, w, a, s, skill=skill: skill in s.split("; "))
    assert asked(day="TU", skill="listening") == {"Finder role 0", "Finder role 2"}
    # Nearest first from a real postcode, in true distance order.
    postcode, lon, lat = rows(db, "SELECT postcode, ST_X(geom), ST_Y(geom) FROM postcodes "
                                  "ORDER BY postcode LIMIT 1")[0]
    listed = client.get("/help-out.json", query_string={"postcode": postcode,
                                                        "q": "Finder role"}).get_json()
    project = _local(lon, lat)
    expected = sorted(range(len(specs)), key=lambda i: math.hypot(
        *project(places[i][2], places[i][3])))
    assert [o["title"] for o in listed["opportunities"]] == [
        f"Finder role {i}" for i in expected]
    # Near me, from coordinates; and from outside Kirklees (Leeds city centre).
    near = client.get("/help-out.json", query_string={"lon": lon, "lat": lat,
                                                      "q": "Finder role"}).get_json()
    assert [o["title"] for o in near["opportunities"]] == [
        o["title"] for o in listed["opportunities"]]
    outside = client.get("/help-out.json", query_string={"lon": -1.5491, "lat": 53.7997})
    assert "outside Kirklees" in outside.get_json()["notice"]
    bad = client.get("/help-out.json?age=old")
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "age"
    assert client.get("/help-out?day=Funday").status_code == 400
    page = client.get("/help-out", query_string={"skill": "driving", "q": "Finder"}
                      ).get_data(as_text=True)
    assert "Finder role 1" in page and "Finder role 4" in page and "Finder role 0" not in page


def test_a_file_in_the_volunteering_data_standards_terms_loads_and_is_published_in_them(
        real_groups, db, client, tmp_path):  # noqa: F811
    """Columns named as the standard names them (applyLink, minimumAge, requirement,
    skill, commitment as free text, week slots, publishEnd), and the same opportunity
    back as the standard's JSON-LD: an Activity with a Role and a Session."""
    _, found = real_groups
    group = found[0]
    closes = (TODAY + timedelta(days=30)).isoformat()
    path = tmp_path / "standard.json"
    path.write_text(json.dumps([{
        "id": "vds-1", "title": "Outreach volunteer", "place": str(group.id),
        "description": "Talk to people at the weekly drop-in.",
        "commitment": "One evening per week, 3-hour shift", "time": "ThursdayEvening",
        "minimumAge": "18", "requirement": ["DBSCheck", "IDCheck"],
        "skill": ["Communication", "Empathy and compassion"],
        "applyLink": "https://example.org/outreach", "publishEnd": closes}]))
    report = load(db, path, source="standard")
    assert report.status == "committed", report.lines()
    assert "applyLink" in " ".join(report.notes)
    key = opportunity_id("standard", "vds-1")
    record = client.get(f"/help-out/{key}.json").get_json()
    assert (record["commitment"], record["days"], record["minimum_age"], record["dbs_check"],
            record["skills"], record["closing_date"]) == (
        "regular", ["TH"], 18, True, ["communication", "empathy and compassion"], closes)

    response = client.get(f"/help-out/{key}.jsonld")
    assert response.mimetype == "application/ld+json"
    activity = response.get_json()
    assert activity["@context"] == "https://api.volunteeringdata.io/context/v1"
    assert (activity["type"], activity["title"], activity["publishEnd"]) == (
        "Activity", "Outreach volunteer", closes)
    (role,) = activity["role"]
    assert (role["type"], role["minimumAge"], role["requirement"], role["applyLink"],
            role["allowsRemoteParticipation"]) == (
        "Role", "18", ["https://ns.volunteeringdata.io/DBSCheck"],
        "https://example.org/outreach", False)
    assert role["commitment"].startswith("Regular")
    (session,) = activity["session"]
    assert session["time"] == ["https://ns.volunteeringdata.io/ThursdayEvening"]
    shown = rows(db, "SELECT ST_X(public_point), ST_Y(public_point) FROM places "
                     "WHERE id = :id", id=group.id)[0]
    location = session["location"]
    assert math.dist((location["longitude"], location["latitude"]), shown) < 1e-5
    listed = client.get("/help-out.jsonld").get_json()
    assert listed["conformsTo"] == "https://ns.volunteeringdata.io/"
    assert [a["id"] for a in listed["graph"]] == [activity["id"]]
