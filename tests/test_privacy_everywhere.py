"""Kirklees mutual aid groups that carry phone numbers and e-mail addresses, imported in
the shape of the real API export, leak neither their contacts nor their imported
location through any public page, feed, tile or download."""
from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import text

from mapping.cli import main
from tests.conftest import shared_data

WARDS = "kirklees/wards-2013.geojson"
MARCH = "mutual-aid/uk-groups-2020-03-27.json"


def tile(lon, lat, z):
    n = 2 ** z
    return z, int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture
def groups_with_contacts(runner, db, tmp_path):
    assert runner.invoke(main, ["boundaries", "wards", str(shared_data(WARDS)), "--code-field",
                                "WD13CD", "--name-field", "WD13NM"]).exit_code == 0
    import shapely
    from shapely.geometry import Point, shape

    wards = [shape(f["geometry"]) for f in json.loads(shared_data(WARDS).read_text())["features"]]
    district = shapely.union_all(wards)
    march = json.loads(shared_data(MARCH).read_text())
    inside = [g for g in march if district.contains(
        Point(g["location_coord"]["lng"], g["location_coord"]["lat"]))]
    assert len(inside) == 20
    body = []
    for number, group in enumerate(inside):
        body.append({**group, "description": "Shopping and prescriptions for neighbours.",
                     "updated_at": "2020-05-15T21:28:16.577Z",
                     "contact": {"phone": f"07700 9{number:05d}",
                                 "email": f"volunteer{number}@private-mail.example"}})
    path = tmp_path / "api-response.json"
    path.write_text(json.dumps({"statusCode": 200, "headers": {}, "body": json.dumps(body)}))
    result = runner.invoke(main, ["import", "mutual-aid", str(path), "--precision", "area"])
    assert result.exit_code == 0, result.output
    with db.connect() as connection:
        stored = connection.execute(text(
            "SELECT count(*) FROM places WHERE phone IS NOT NULL AND email IS NOT NULL "
            "AND NOT phone_public AND NOT email_public")).scalar()
    assert stored == 20  # kept for editors, never published
    return body


def secrets_in(body: bytes, groups) -> list[str]:
    found = []
    for group in groups:
        phone, email = group["contact"]["phone"], group["contact"]["email"]
        for secret in (phone, phone.replace(" ", ""), email):
            if secret.encode() in body:
                found.append(secret)
        lon, lat = group["location_coord"]["lng"], group["location_coord"]["lat"]
        for digits in (6, 5, 4):
            if f"{lon:.{digits}f}".encode() in body and f"{lat:.{digits}f}".encode() in body:
                found.append(f"{lon:.{digits}f},{lat:.{digits}f}")
    return found


def public_urls(client, groups, db):
    with db.connect() as connection:
        ids = connection.execute(text("SELECT id FROM places")).scalars().all()
        wards = connection.execute(text(
            "SELECT DISTINCT ward_code FROM places WHERE ward_code IS NOT NULL")).scalars().all()
    urls = ["/", "/?kind=mutual_aid_group", "/places.json", "/wards", "/wards.json", "/data",
            "/data.json"]
    for group in groups:
        urls.append("/?q=" + group["name"][:20])
        lon, lat = group["location_coord"]["lng"], group["location_coord"]["lat"]
        urls.append(f"/api/nearest?lon={lon}&lat={lat}&limit=20")
        for z in (10, 12, 14, 16):
            z, x, y = tile(lon, lat, z)
            urls += [f"/tiles/places/{z}/{x}/{y}.mvt", f"/tiles/mutual-aid-groups/{z}/{x}/{y}.mvt"]
    for place_id in ids:
        urls += [f"/places/{place_id}", f"/places/{place_id}.json",
                 f"/ogc/collections/mutual-aid-groups/items/{place_id}",
                 f"/ogc/collections/mutual-aid-groups/items/{place_id}?f=html"]
    for code in wards:
        urls += [f"/wards/{code}", f"/wards/{code}.json", f"/wards/{code}/map.html",
                 f"/api/wards/{code}"]
    for layer in ("places", "mutual-aid-groups"):
        urls += [f"/layers/{layer}.geojson", f"/layers/{layer}.csv",
                 f"/ogc/collections/{layer}/items?limit=1000",
                 f"/ogc/collections/{layer}/items?limit=1000&f=html",
                 f"/ogc/collections/{layer}/items?limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/4326",
                 f"/ogc/collections/{layer}/items?limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/27700"]
    return urls


def test_no_contact_or_imported_location_reaches_any_public_output(client, groups_with_contacts,
                                                                     db):
    checked = 0
    leaks = {}
    for url in public_urls(client, groups_with_contacts, db):
        response = client.get(url)
        assert response.status_code in (200, 204), (url, response.status_code)
        body = response.get_data()
        if url.startswith("/api/nearest"):
            # The answer repeats the point it was asked about: that is the caller's own input.
            document = json.loads(body)
            document.pop("origin", None)
            body = json.dumps(document).encode()
        found = secrets_in(body, groups_with_contacts)
        if found:
            leaks[url] = found
        checked += 1
    assert checked > 200
    assert not leaks, leaks


def test_the_groups_are_still_findable_at_their_area(client, groups_with_contacts):
    feed = client.get("/layers/mutual-aid-groups.geojson").get_json()
    assert len(feed["features"]) == 20
    assert {f["properties"]["location_precision"] for f in feed["features"]} == {"area"}
    assert all(f["properties"].get("phone") is None and f["properties"].get("email") is None
               for f in feed["features"])
