"""/openreferral: Open Referral UK (HSDS 3.0, UK profile), checked as the official
validator checks it, against the profile's published JSON Schemas (../shared/standards),
with the `jsonschema` package: `/` first, then the first listed id's detail, every page
without repeats, and each filter narrowing the list, combined filters intersecting.
The data is the demo: the real wards and postcodes, with services that have schedules,
service areas and eligibility."""
from __future__ import annotations

import datetime as dt
import json
from functools import cache
from itertools import combinations

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import text

from importers import schedules
from layers import openreferral as oruk
from tests.conftest import SHARED_DATA

STANDARD = SHARED_DATA.parent / "standards" / "openreferral-uk-3.0"


@cache
def schema(name: str) -> dict:
    path = STANDARD / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared/standards beside the "
                    "repository")
    return json.loads(path.read_text())


def check(document, name: str) -> None:
    validator = Draft202012Validator(schema(name), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def check_page(document, item_schema: str) -> None:
    page = schema("openapi.json")["components"]["schemas"]["Page"]
    errors = list(Draft202012Validator(page).iter_errors(document))
    assert not errors, [e.message for e in errors]
    assert set(page["properties"]) | {"contents"} <= set(document)
    for item in document["contents"]:
        check(item, item_schema)


def get(client, url, **params):
    response = client.get(url, query_string=params)
    assert response.status_code == 200, (url, params, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


def walk(client, url, per_page=50, **params) -> list[dict]:
    """Every item of a paged list, page by page, checking the envelope on the way."""
    items, page = [], 1
    while True:
        document = get(client, url, page=page, per_page=per_page, **params)
        assert document["page_number"] == page
        assert document["first_page"] == (page == 1)
        assert document["size"] == len(document["contents"])
        items += document["contents"]
        if document["last_page"]:
            assert document["total_pages"] == page or document["empty"]
            assert document["total_items"] == len(items)
            assert document["empty"] == (not items)
            return items
        assert document["size"] == per_page
        page += 1


def ids(client, url="/openreferral/services", **params) -> set[str]:
    found = [item["id"] for item in walk(client, url, per_page=500, **params)]
    assert len(found) == len(set(found)), "an id repeats"
    return set(found)


def test_the_root_names_version_profile_and_a_valid_openapi_document(client, demo_data):
    root = get(client, "/openreferral/")
    assert root["version"] == "3.0"
    assert root["profile"].startswith("https://")
    document = get(client, root["openapi_url"].replace("http://localhost", ""))
    # The responses point at the profile's published schemas: read from the local copies.
    local = json.loads(json.dumps(document).replace(
        "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/",
        STANDARD.as_uri() + "/"))
    validate_openapi(local)
    assert set(document["paths"]) == set(schema("openapi.json")["paths"])


def test_level_1_the_first_service_in_the_list_and_its_full_record(client, demo_data):
    first = get(client, "/openreferral/services")
    check_page(first, "compiled/service_list.json")
    assert first["total_items"] > 400 and first["size"] == oruk.DEFAULT_PER_PAGE
    detail = get(client, f"/openreferral/services/{first['contents'][0]['id']}")
    check(detail, "compiled/service.json")
    assert detail["id"] == first["contents"][0]["id"]


def test_every_service_record_is_valid_and_every_page_is_walked_without_repeats(
        client, demo_data, db):
    services = walk(client, "/openreferral/services", per_page=37)
    assert len({s["id"] for s in services}) == len(services)
    with db.connect() as connection:
        places, explicit, hidden = connection.execute(text(
            "SELECT (SELECT count(*) FROM places WHERE deleted_at IS NULL), "
            "(SELECT count(*) FROM services WHERE deleted_at IS NULL), "
            "(SELECT count(DISTINCT place_id) FROM services WHERE deleted_at IS NULL)")).one()
    # Every explicit service, and one derived from each place that offers none of its own.
    assert len(services) == explicit + places - hidden
    for service in services:
        check(service, "compiled/service_list.json")
    for service in services[::7]:
        check(get(client, f"/openreferral/services/{service['id']}"), "compiled/service.json")


def test_demo_services_carry_schedules_areas_eligibility_languages_and_cost(client, demo_data):
    advice = get(client, "/openreferral/services", search="Money and debt advice")
    assert advice["total_items"] == 4  # one at each Community Response Hub
    record = get(client, f"/openreferral/services/{advice['contents'][0]['id']}")
    assert record["minimum_age"] == 18
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in record["schedules"]] == [
        ("TH", "13:00", "15:00"), ("TU", "10:00", "12:00")]
    assert {lang["code"] for lang in record["languages"]} == {"en", "ur", "pa"}
    assert record["cost_options"][0]["option"] == "Free"
    [area] = record["service_areas"]
    assert area["extent_type"] == "geojson"
    assert json.loads(area["extent"])["type"] == "MultiPolygon"
    assert len(area["service_area"].split(", ")) >= 2  # the hub's ward and its neighbours
    [at] = record["service_at_locations"]
    assert at["location"]["addresses"][0]["postal_code"]
    check(get(client, f"/openreferral/service_at_locations/{at['id']}"),
          "compiled/service.json")


def test_level_2_service_at_locations_taxonomies_and_terms(client, demo_data):
    locations = get(client, "/openreferral/service_at_locations")
    check_page(locations, "compiled/service_at_location_list.json")
    first = locations["contents"][0]
    detail = get(client, f"/openreferral/service_at_locations/{first['id']}")
    check(detail, "compiled/service.json")
    assert detail["id"] == first["service_id"]
    taxonomies = walk(client, "/openreferral/taxonomies")
    for taxonomy in taxonomies:
        check(taxonomy, "taxonomy.json")
        check(get(client, f"/openreferral/taxonomies/{taxonomy['id']}"), "taxonomy.json")
    terms = walk(client, "/openreferral/taxonomy_terms", per_page=4)
    assert {t["taxonomy_id"] for t in terms} == {t["id"] for t in taxonomies}
    for term in terms:
        check(term, "taxonomy_term.json")
        assert get(client, f"/openreferral/taxonomy_terms/{term['id']}") == term


def test_ids_are_stable_uuids_derived_from_the_place(client, demo_data, db):
    with db.connect() as connection:
        place_id, sql_uuid = connection.execute(text(
            "SELECT id, assetmap_uuid('service:' || id)::text FROM places "
            "WHERE kind = 'mutual_aid_group' ORDER BY id LIMIT 1")).one()
    assert oruk.stable_uuid(f"service:{place_id}") == sql_uuid
    record = get(client, f"/openreferral/services/{sql_uuid}")
    assert record["service_at_locations"][0]["location"]["external_identifier"] == str(place_id)


def filter_values(client) -> dict[str, str]:
    terms = walk(client, "/openreferral/taxonomy_terms", per_page=500)
    food = next(t for t in terms if t["term"] == "food")
    hub = next(t for t in terms if t["term"] == "hub")
    return {"search": "club", "taxonomy_term_id": food["id"], "minimum_age": "16",
            "maximum_age": "18", "day": "TU", "start_time": "10:00", "end_time": "14:00",
            "taxonomy_id": hub["taxonomy_id"], "modified_after": "2000-01-01"}


def test_each_filter_narrows_and_combined_filters_intersect(client, demo_data):
    everything = ids(client)
    values = filter_values(client)
    alone = {}
    for name, value in values.items():
        alone[name] = ids(client, **{name: value})
        assert alone[name] <= everything, name
        if name != "modified_after":
            assert 0 < len(alone[name]) < len(everything), (name, len(alone[name]))
    assert alone["modified_after"] == everything
    for first, second in combinations(sorted(values), 2):
        if {first, second} & {"day", "start_time", "end_time"} == {first, second}:
            continue  # one session must meet both: checked below
        both = ids(client, **{first: values[first], second: values[second]})
        assert both == alone[first] & alone[second], (first, second)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(client, modified_after=future) == set()


def test_the_schedule_filters_agree_with_the_texts_they_were_read_from(client, demo_data, db):
    """The truth is the parser run here on each service's own text, not the SQL."""
    with db.connect() as connection:
        texts = dict(connection.execute(text(
            "SELECT id::text, schedule_text FROM published_services")).all())
    rules = {sid: schedules.parse(t).rules for sid, t in texts.items()}
    at = dt.time(10, 0)
    for day in ("MO", "TU", "SA"):
        assert ids(client, day=day) == {s for s, r in rules.items()
                                        if any(x.covers(day) for x in r)}, day
        expected = {s for s, r in rules.items() if any(
            x.covers(day) and x.opens_at and x.opens_at >= at for x in r)}
        assert ids(client, day=day.lower(), start_time="10:00") == expected
    monday = {s for s, r in rules.items() if any(
        x.covers("MO") and x.closes_at and x.closes_at <= dt.time(12) for x in r)}
    assert ids(client, day="monday", end_time="12:00") == monday


def test_age_filters_follow_the_profile(client, demo_data, db):
    with db.connect() as connection:
        ages = {str(i): (lo, hi) for i, lo, hi in connection.execute(text(
            "SELECT id, minimum_age, maximum_age FROM published_services")).all()}
    assert ids(client, minimum_age=60) == {s for s, (lo, _) in ages.items()
                                           if lo is not None and lo >= 60}
    assert ids(client, maximum_age=5) == {s for s, (_, hi) in ages.items()
                                          if hi is not None and hi <= 5}


def test_a_postcode_finds_the_groups_whose_area_covers_it_however_far_their_point(
        client, demo_data, db):
    with db.connect() as connection:
        # A postcode inside a group's area but more than 1 km from its published point.
        service, postcode, far = connection.execute(text("""
            SELECT a.service_id::text, pc.postcode,
                   ST_Distance(pc.geom_bng, p.geom_bng)
              FROM published_service_areas a
              JOIN published_services s ON s.id = a.service_id
              JOIN published_places p ON p.id = s.place_id
              JOIN postcodes pc ON ST_Intersects(a.geom, pc.geom)
             WHERE ST_Distance(pc.geom_bng, p.geom_bng) > 1000
             ORDER BY a.service_id, pc.postcode LIMIT 1""")).one()
        outside = connection.execute(text("""
            SELECT count(*) FROM published_services s
             WHERE s.place_id IS NOT NULL
               AND EXISTS (SELECT 1 FROM published_service_areas a WHERE a.service_id = s.id)
               AND NOT EXISTS (SELECT 1 FROM published_service_areas a, postcodes pc
                                WHERE a.service_id = s.id AND pc.postcode = :postcode
                                  AND ST_Intersects(a.geom, pc.geom))"""),
            {"postcode": postcode}).scalar()
    assert far > 1000 and outside > 0
    near = walk(client, "/openreferral/service_at_locations", per_page=500,
                postcode=postcode, proximity=200)
    services = {item["service_id"] for item in near}
    assert service in services
    for item in near:
        check(item, "compiled/service_at_location_list.json")
    distances = [item["distance"] for item in near]
    assert distances == sorted(distances)
    everything = walk(client, "/openreferral/service_at_locations", per_page=500)
    by_postcode = walk(client, "/openreferral/service_at_locations", per_page=500,
                       postcode=postcode)
    # A service with an area that does not hold the postcode is left out.
    assert len(by_postcode) == len(everything) - outside
    assert services < {item["service_id"] for item in by_postcode}


@pytest.mark.parametrize("query, parameter", [
    ("colour=red", "colour"), ("page=0", "page"), ("per_page=501", "per_page"),
    ("page=two", "page"), ("day=XX", "day"), ("start_time=25:00", "start_time"),
    ("end_time=noon", "end_time"), ("minimum_age=old", "minimum_age"),
    ("maximum_age=-1", "maximum_age"), ("modified_after=yesterday", "modified_after"),
    ("taxonomy_term_id=00000000-0000-0000-0000-000000000000", "taxonomy_term_id"),
    ("taxonomy_id=categories", "taxonomy_id"), ("search=a&search=b", "search"),
])
def test_a_bad_parameter_is_a_400_that_names_it(client, demo_data, query, parameter):
    for path in ("/openreferral/services", "/openreferral/service_at_locations"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["parameter"] == parameter


@pytest.mark.parametrize("query, parameter", [
    ("postcode=nowhere", "postcode"), ("postcode=ZZ99 9ZZ", "postcode"),
    ("proximity=100", "proximity"), ("postcode=HD1 2TG&proximity=far", "proximity"),
])
def test_a_bad_postcode_or_proximity_is_a_400_that_names_it(client, demo_data, query,
                                                            parameter):
    response = client.get(f"/openreferral/service_at_locations?{query}")
    assert response.status_code == 400, query
    assert response.get_json()["parameter"] == parameter
    assert client.get(f"/openreferral/services?{query}").get_json()["parameter"] in (
        "postcode", "proximity")


def test_unknown_ids_are_404_and_etags_give_304(client, demo_data):
    for path in ("services", "service_at_locations", "taxonomies", "taxonomy_terms"):
        for bad in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
            response = client.get(f"/openreferral/{path}/{bad}")
            assert response.status_code == 404, (path, bad)
            assert response.mimetype == "application/problem+json"
    first = client.get("/openreferral/services?day=TU")
    tag = first.headers["ETag"]
    again = client.get("/openreferral/services?day=TU", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert client.get("/openreferral/services?day=WE",
                      headers={"If-None-Match": tag}).status_code == 200


def test_an_edit_to_a_place_changes_its_service_and_its_etag(client, demo_data, db):
    with db.connect() as connection:
        place_id = connection.execute(text(
            "SELECT id FROM places WHERE kind = 'hub' ORDER BY id LIMIT 1")).scalar()
    url = "/openreferral/services?search=Renamed+hub+service"
    before = client.get(url)
    assert before.get_json()["total_items"] == 0
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, source, source_id, place_id, name, schedule_text) "
            "VALUES (assetmap_uuid('t'), 'test', 't', :id, 'Renamed hub service', "
            "'Sundays 14:00-16:00')"), {"id": place_id})
        schedules.refresh(connection)
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    [service] = after.get_json()["contents"]
    assert ids(client, day="SU", search="Renamed") == {service["id"]}
    with db.begin() as connection:
        connection.execute(text("UPDATE places SET deleted_at = now() WHERE id = :id"),
                           {"id": place_id})
    assert client.get(url).get_json()["total_items"] == 0
    assert client.get(f"/openreferral/services/{service['id']}").status_code == 404


def test_an_area_level_group_is_published_at_its_area_without_address_or_contacts(
        client, demo_data, db):
    with db.connect() as connection:
        rows = connection.execute(text(
            "SELECT p.id, p.email, p.phone, ST_X(p.geom), ST_Y(p.geom) FROM places p "
            "WHERE p.location_precision = 'area' AND p.deleted_at IS NULL ORDER BY p.id "
            "LIMIT 5")).all()
    for place_id, email, phone, lon, lat in rows:
        service = oruk.stable_uuid(f"service:{place_id}")
        response = client.get(f"/openreferral/services/{service}")
        body = response.get_data(as_text=True)
        record = response.get_json()
        location = record["service_at_locations"][0]["location"]
        assert location["addresses"] == []
        assert email not in body and phone not in body
        assert (round(lon, 6), round(lat, 6)) != (location["longitude"], location["latitude"])


def test_removing_the_demo_takes_its_services_and_what_their_hours_were_read_from(
        client, demo_data, db):
    from importers import demo

    with db.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM schedule_texts")).scalar() > 0
        demo.remove(connection)
        left = connection.execute(text(
            "SELECT (SELECT count(*) FROM services), (SELECT count(*) FROM organisations), "
            "(SELECT count(*) FROM schedules), (SELECT count(*) FROM schedule_texts)")).one()
    assert tuple(left) == (0, 0, 0, 0)
    assert get(client, "/openreferral/services")["total_items"] == 0
