"""Postcode search on the real OS Code-Point Open extract for Kirklees: every postcode, in
the spellings residents type, is found at its own point; postcodes outside the district,
unknown ones, strings that are not postcodes and a finder with no postcodes loaded each
get their own clear answer, the same on the page, its JSON twin and /api/nearest."""
from __future__ import annotations

import csv
import html as html_module
import io
import re
import time
import zipfile

import pytest
from sqlalchemy import text

from importers.boundaries import import_boundaries
from importers.places import import_places
from importers.postcodes import import_postcodes
from mapping import create_app, postcode_search, queries
from tests.conftest import shared_data

KIRKLEES_POSTCODES = "postcodes/codepoint-open-kirklees-2025-05.csv"
GB_POSTCODES = "postcodes/codepo_gb-2025-05.zip"
WARDS = "kirklees/wards-2013.geojson"
MUTUAL_AID = "mutual-aid/uk-groups-2020-03-27.json"
# Real postcodes of the neighbouring districts, from the GB file, each about 1 km outside
# the Kirklees wards with Kirklees groups within 5 km: Calderdale (Elland), Leeds (Morley)
# and Wakefield (Horbury).
NEIGHBOURS = {"hx.csv": "HX5 0EE", "ls.csv": "LS27 0NT", "wf.csv": "WF5 9NL"}


def spellings(postcode: str) -> list[str]:
    """The published spelling and the ones residents type."""
    outward, inward = postcode.split()
    return [postcode, postcode.lower(), outward + inward, f"  {outward.lower()}   {inward} ",
            f"{outward}\t{inward.lower()}"]


def file_rows() -> list[dict]:
    with open(shared_data(KIRKLEES_POSTCODES), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def lon_lat_of(connection, rows: list[dict]) -> dict[str, tuple[float, float]]:
    """The file's eastings and northings (EPSG:27700) as longitude and latitude."""
    result = connection.execute(text("""
        SELECT postcode, ST_X(g), ST_Y(g) FROM (
            SELECT postcode, ST_Transform(ST_SetSRID(ST_MakePoint(e, n), 27700), 4326) AS g
              FROM unnest(CAST(:postcodes AS text[]), CAST(:e AS float8[]),
                          CAST(:n AS float8[])) AS f(postcode, e, n)) t"""),
        {"postcodes": [r["Postcode"] for r in rows], "e": [float(r["Eastings"]) for r in rows],
         "n": [float(r["Northings"]) for r in rows]})
    return {postcode: (lon, lat) for postcode, lon, lat in result}


def metres_apart(connection, a: tuple[float, float], b: tuple[float, float]) -> float:
    return connection.execute(text(
        "SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(:ax, :ay), 4326), 27700), "
        "ST_Transform(ST_SetSRID(ST_MakePoint(:bx, :by), 4326), 27700))"),
        {"ax": a[0], "ay": a[1], "bx": b[0], "by": b[1]}).scalar()


@pytest.fixture
def app(database_url, db):
    """The app, with room for the hundreds of searches these tests make in a minute."""
    app = create_app({"database_url": database_url, "TESTING": True,
                      "rate_limit_search": "100000 per minute"})
    yield app
    for key in ("assetmap.engine", "assetmap.read_engine"):
        app.extensions[key].dispose()


@pytest.fixture
def kirklees(db):
    """The real wards, the real Kirklees postcodes and the real March 2020 mutual aid groups,
    each loaded with its real importer."""
    wards = import_boundaries(db, "wards", shared_data(WARDS), code_field="WD13CD",
                              name_field="WD13NM")
    postcodes = import_postcodes(db, shared_data(KIRKLEES_POSTCODES))
    places = import_places(db, "mutual-aid", shared_data(MUTUAL_AID))
    for report in (wards, postcodes, places):
        assert report.status == "committed", (report.fatal, report.problems[:3])
    assert postcodes.counts["inserted"] == 11_502
    return db


def gb_rows(area_file: str, wanted: set[str]) -> list[list[str]]:
    with zipfile.ZipFile(shared_data(GB_POSTCODES)) as archive, \
            archive.open(f"Data/CSV/{area_file}") as member:
        return [row for row in csv.reader(io.TextIOWrapper(member, encoding="utf-8"))
                if row[0] in wanted]


def load_gb_postcodes(db, tmp_path, wanted: dict[str, str],
                      everywhere: bool = False) -> list[list[str]]:
    """Real rows of the GB file (area file → postcode), loaded with the real importer
    (which keeps those near the wards, or with `everywhere` all of them)."""
    rows = [row for area_file, postcode in wanted.items() for row in gb_rows(area_file, {postcode})]
    assert len(rows) == len(wanted)
    path = tmp_path / "neighbours.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    report = import_postcodes(db, path, everywhere=everywhere)
    assert report.status == "committed", report.fatal
    assert report.counts["inserted"] == len(rows)
    return rows


def distances_from(connection, lon: float, lat: float) -> dict[int, float]:
    """Every published place's distance from a point, on the grid, in metres."""
    return dict(connection.execute(text("""
        SELECT p.id, ST_Distance(p.public_point_bng,
                                 ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700))
          FROM places p WHERE p.deleted_at IS NULL"""), {"lon": lon, "lat": lat}).all())


def assert_nearest(ids: list[int], truth: dict[int, float], within: float | None = None):
    """`ids` are the 20 places nearest the point `truth` was measured from (within `within`
    metres), nearest first. Places sharing one spot tie, so any of them may end the list."""
    wanted = sorted(d for d in truth.values() if within is None or round(d) <= within)[:20]
    assert [round(truth[i], 1) for i in ids] == [round(d, 1) for d in wanted]
    assert len(set(ids)) == len(ids)


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="result" data-id="(\d+)"', html)]


def error_text(html: str) -> str | None:
    match = re.search(r'<div class="error-summary".*?<a href="#postcode">(.*?)</a>', html, re.DOTALL)
    return html_module.unescape(match.group(1)).strip() if match else None


def page_text(html: str, element_id: str) -> str | None:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|div)>', html, re.DOTALL)
    if not match:
        return None
    return html_module.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_every_kirklees_postcode_in_every_spelling_is_found_at_its_own_point(kirklees):
    rows = file_rows()
    assert len(rows) == 11_502
    with kirklees.connect() as connection:
        truth = lon_lat_of(connection, rows)
        started = time.perf_counter()
        typed = {spelling: postcode_search.typed(spelling)
                 for row in rows for spelling in spellings(row["Postcode"])}
        # Every spelling's own key, looked up by the finder's query in one statement.
        found = queries.origins(connection, [t.key for t in typed.values()])
        seconds = time.perf_counter() - started
        far = connection.execute(text("""
            SELECT f.postcode FROM unnest(CAST(:postcodes AS text[]), CAST(:lon AS float8[]),
                                          CAST(:lat AS float8[])) AS f(postcode, lon, lat)
             WHERE ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326), 27700),
                               (SELECT geom_bng FROM postcodes p
                                 WHERE p.postcode_key = replace(f.postcode, ' ', ''))) >= 1"""),
            {"postcodes": list(truth), "lon": [v[0] for v in truth.values()],
             "lat": [v[1] for v in truth.values()]}).scalars().all()
        strictly_outside = connection.execute(text("""
            SELECT count(*) FROM postcodes p WHERE NOT EXISTS (
                SELECT 1 FROM area_parts a WHERE a.kind = 'ward' AND ST_Intersects(a.geom, p.geom))
        """)).scalar()
        # The one-postcode path the finder takes, for a spread of spellings.
        for spelling in list(typed)[::97]:
            origin = queries.origin(connection, typed[spelling].key)
            assert origin == found[typed[spelling].key]
    assert len(typed) == 11_502 * 5
    found_spellings = 0
    for row in rows:
        published = row["Postcode"]
        for spelling in spellings(published):
            t = typed[spelling]
            assert t.well_formed and t.text == published, (spelling, t)
            origin = found.get(t.key)
            assert origin is not None and origin["postcode"] == published, spelling
            found_spellings += 1
            lon, lat = truth[published]
            assert abs(origin["lon"] - lon) < 2e-5 and abs(origin["lat"] - lat) < 1e-5
    assert found_spellings == 11_502 * 5 and len(found) == 11_502
    assert far == [], "each origin is within a metre of the file's easting and northing"
    # Every one is a Kirklees postcode (Code-Point's own admin district), so every one is in
    # the district, even the four whose point lies a few metres beyond the generalised wards.
    assert [p for p, o in found.items() if not o["in_district"]] == []
    assert strictly_outside == 4
    print(f"\n{found_spellings:,} spellings of {len(found):,} postcodes found in {seconds:.2f} s")


def sample(rows: list[dict]) -> list[dict]:
    """One postcode of each outward code, and the four that lie just beyond the wards."""
    edge = {"WF12 7JF", "WF17 0AF", "WF12 7JG", "BD4 6QS"}
    chosen = {}
    for row in rows:
        chosen.setdefault(row["Postcode"].split()[0], row)
    return list(chosen.values()) + [r for r in rows if r["Postcode"] in edge]


def test_a_sample_is_found_from_its_own_point_on_the_page_twin_and_api(kirklees, client):
    rows = sample(file_rows())
    assert len(rows) == 27
    with kirklees.connect() as connection:
        truth = lon_lat_of(connection, rows)
        for row in rows:
            published = row["Postcode"]
            distances = distances_from(connection, *truth[published])
            for spelling in spellings(published)[1:4]:
                api = client.get("/api/nearest", query_string={"postcode": spelling, "limit": 20})
                assert api.status_code == 200, (spelling, api.get_json())
                body = api.get_json()
                assert body["origin"]["postcode"] == published
                assert body["outside_district"] is False
                origin = (body["origin"]["lon"], body["origin"]["lat"])
                assert metres_apart(connection, origin, truth[published]) < 1
                assert_nearest([f["id"] for f in body["features"]], distances)

                twin = client.get("/places.json", query_string={"postcode": spelling}).get_json()
                assert twin["origin"]["postcode"] == published
                assert twin["origin"]["outside_district"] is False and twin["notice"] is None
                twin_origin = (twin["origin"]["lon"], twin["origin"]["lat"])
                assert metres_apart(connection, twin_origin, truth[published]) < 1
                assert_nearest([p["id"] for p in twin["places"]], distances)

                page = client.get("/", query_string={"postcode": spelling})
                html = page.get_data(as_text=True)
                assert page.status_code == 200
                assert f"Nearest places to {published}" in html
                assert 'class="error-summary"' not in html and 'id="postcode-notice"' not in html
                assert listed_ids(html) == [p["id"] for p in twin["places"]]


def test_a_postcode_beyond_the_district_is_outside_kirklees_with_places_within_5_km(
        kirklees, client, tmp_path):
    rows = load_gb_postcodes(kirklees, tmp_path, NEIGHBOURS)
    with kirklees.connect() as connection:
        for row in rows:
            published = row[0]
            lon, lat = connection.execute(text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint("
                ":e, :n), 27700), 4326) AS g) t"), {"e": float(row[2]), "n": float(row[3])}).one()
            assert not queries.in_district(connection, lon, lat)
            distances = distances_from(connection, lon, lat)
            assert min(distances.values()) < 5000, f"real groups lie within 5 km of {published}"

            api = client.get("/api/nearest", query_string={"postcode": published.lower(),
                                                           "limit": 20}).get_json()
            assert api["outside_district"] is True and api["within_m"] == 5000
            assert api["origin"]["postcode"] == published
            assert_nearest([f["id"] for f in api["features"]], distances, within=5000)
            assert all(f["properties"]["distance_m"] <= 5000 for f in api["features"])

            twin = client.get("/places.json", query_string={"postcode": published}).get_json()
            assert twin["origin"]["outside_district"] is True
            assert_nearest([p["id"] for p in twin["places"]], distances, within=5000)
            assert twin["notice"] == postcode_search.message("outside", published)
            assert twin["notice"].startswith(f"{published} is outside Kirklees.")

            html = client.get("/", query_string={"postcode": published.replace(" ", "")}) \
                .get_data(as_text=True)
            assert page_text(html, "postcode-notice") == twin["notice"]
            assert listed_ids(html) == [p["id"] for p in twin["places"]]

    # From a point with no place within 5 km, the list is empty and the page says why.
    far = client.get("/api/nearest?lon=-1.2&lat=53.9").get_json()
    assert far["outside_district"] is True
    with kirklees.connect() as connection:
        assert_nearest([f["id"] for f in far["features"]], distances_from(connection, -1.2, 53.9),
                       within=5000)


def test_a_far_postcode_with_no_place_near_says_so(kirklees, client, tmp_path):
    # Shetland (ZE1 0AA, Lerwick), loaded as a server holding all of Great Britain would:
    # no mutual aid group of March 2020 lies within 5 km, were every one of them kept.
    load_gb_postcodes(kirklees, tmp_path, {"ze.csv": "ZE1 0AA"}, everywhere=True)
    twin = client.get("/places.json?postcode=ze1+0aa").get_json()
    assert twin["origin"]["outside_district"] is True and twin["places"] == []
    assert twin["notice"] == ("ZE1 0AA is outside Kirklees, and no places are within 5 km of "
                              "it. You can search by name instead.")
    html = client.get("/?postcode=ZE10AA").get_data(as_text=True)
    assert page_text(html, "postcode-notice") == twin["notice"]
    assert client.get("/api/nearest?postcode=ZE1 0AA").get_json()["features"] == []


def test_a_postcode_not_loaded_is_not_found_and_a_non_postcode_is_not_a_postcode(kirklees,
                                                                                  client):
    for typed, shown in (("sw1a 1aa", "SW1A 1AA"), ("ZZ99ZZ", "ZZ9 9ZZ")):
        html = client.get("/", query_string={"postcode": typed}).get_data(as_text=True)
        assert error_text(html) == postcode_search.message("unknown", shown)
        assert "among Kirklees postcodes" in html
        twin = client.get("/places.json", query_string={"postcode": typed})
        assert twin.status_code == 404 and twin.get_json()["parameter"] == "postcode"
        api = client.get("/api/nearest", query_string={"postcode": typed})
        assert api.status_code == 404 and api.mimetype == "application/problem+json"
        assert api.get_json()["parameter"] == "postcode" and shown in api.get_json()["detail"]
    for typed in ("not a postcode", "HD1", "12345", "HD1 2TAA"):
        html = client.get("/", query_string={"postcode": typed}).get_data(as_text=True)
        assert error_text(html) == postcode_search.message("not_a_postcode", typed.upper())
        assert client.get("/places.json", query_string={"postcode": typed}).status_code == 400
        api = client.get("/api/nearest", query_string={"postcode": typed})
        assert api.status_code == 400 and api.get_json()["parameter"] == "postcode"


def test_with_no_postcodes_loaded_the_finder_says_search_is_not_available(db, client):
    import_boundaries(db, "wards", shared_data(WARDS), code_field="WD13CD", name_field="WD13NM")
    import_places(db, "mutual-aid", shared_data(MUTUAL_AID))
    html = client.get("/").get_data(as_text=True)
    assert 'id="postcode"' in html
    assert page_text(html, "postcode-hint") == "Postcode search is not available yet"
    searched = client.get("/?postcode=HD1+2TA").get_data(as_text=True)
    assert error_text(searched) == ("Postcode search is not available yet. You can search by "
                                    "name instead.")
    twin = client.get("/places.json?postcode=HD1+2TA")
    assert twin.status_code == 503 and twin.get_json()["parameter"] == "postcode"
    api = client.get("/api/nearest?postcode=HD1+2TA")
    assert api.status_code == 503 and api.get_json()["parameter"] == "postcode"
    assert "not available" in api.get_json()["detail"]
    health = client.get("/healthz").get_json()
    assert health["postcodes"] == 0
    assert health["checks"]["postcodes:count"][0]["status"] == "warn"
    assert client.get("/healthz").status_code == 200


def test_healthz_and_the_admin_page_show_the_postcodes_loaded(kirklees, client):
    from mapping.staff import accounts
    from tests.test_auth import PASSWORD, sign_in

    health = client.get("/healthz").get_json()
    assert health["postcodes"] == 11_502
    check = health["checks"]["postcodes:count"][0]
    assert check["status"] == "pass" and check["observedValue"] == 11_502 and check["time"]
    with kirklees.begin() as connection:
        accounts.add_user(connection, "admin@kirklees.example", PASSWORD, "admin")
    sign_in(client, "admin@kirklees.example")
    html = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r"11,502 postcodes loaded, last on \d+ \w+ \d{4} at \d\d:\d\d from "
                     r"codepoint-open-kirklees-2025-05\.csv", html), page_text(html, "postcode-status")
