"""Every public route, asked as a resident or a GIS tool would, with three mutual aid groups
run from volunteers' homes in Batley East, Batley West and Dewsbury East: each imported
with its home address, its real postcode, its exact point and a private phone and e-mail.
None of those reaches any public response: pages, JSON twins, OGC items in every CRS,
downloads, vector tiles, nearest, profiles, search and print. A public route that this
test does not ask is a failure too, so a new route cannot be added unchecked."""
from __future__ import annotations

import csv
import json
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from layers import openreferral as oruk
from layers.registry import LAYERS
from mapping.cli import main

WARDS = {"E05001390": "Batley East", "E05001391": "Batley West", "E05001398": "Dewsbury East"}
# Routes anyone may ask for that publish no place data: files and liveness.
QUIET = {"static", "assets.vendor", "health.livez", "health.readyz", "health.healthz",
         "auth.login"}
# Routes behind a login: asked anonymously, they send the caller to log in.
PRIVATE_PREFIXES = ("/admin", "/edit")
EXTENT = 4096
CRS = {"4326": "http://www.opengis.net/def/crs/EPSG/0/4326",
       "27700": "http://www.opengis.net/def/crs/EPSG/0/27700"}


def tile_of(z: int, lon: float, lat: float) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int(
        (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture
def homes(demo_data, db, runner, tmp_path):
    """Three groups at real homes: a real postcode of each ward, the home a few metres
    from its postcode's point. Imported as a council officer would, with --precision area."""
    groups = []
    with db.connect() as connection:
        for number, (code, ward) in enumerate(sorted(WARDS.items())):
            postcode, lon, lat = connection.execute(text("""
                SELECT pc.postcode, ST_X(pc.geom), ST_Y(pc.geom)
                  FROM postcodes pc JOIN areas w ON w.kind = 'ward' AND w.code = :code
                 WHERE ST_Within(pc.geom, ST_Buffer(w.geom, -0.002))
                 ORDER BY pc.postcode LIMIT 1"""), {"code": code}).one()
            groups.append({
                "id": f"home-{number}", "name": f"{ward} Street Helpers",
                "address": f"{17 + number} Volunteer Terrace, {ward.split()[0]}",
                "postcode": postcode,
                "latitude": round(lat + 0.000071, 6), "longitude": round(lon - 0.000093, 6),
                "phone": f"07700 90{number}{number}1{number}",
                "email": f"helper{number}@home-mail.example",
                "description": "Shopping and prescriptions for neighbours.",
                "ward_code": code})
    path = tmp_path / "groups-from-homes.csv"
    with path.open("w", newline="") as out:
        columns = ["id", "name", "address", "postcode", "latitude", "longitude", "phone",
                   "email", "description"]
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(groups)
    result = runner.invoke(main, ["import", "mutual-aid", str(path), "--source", "homes",
                                  "--precision", "area"])
    assert result.exit_code == 0, result.output
    with db.connect() as connection:
        for group in groups:
            row = connection.execute(text(
                "SELECT id, address, postcode, phone, email, ward_code, lsoa_code, ST_X(geom), "
                "ST_X(ST_Transform(geom, 27700)) AS easting, "
                "ST_Y(ST_Transform(geom, 27700)) AS northing, "
                "ST_X(public_point) AS shown_lon, ST_Y(public_point) AS shown_lat "
                "FROM places WHERE source = 'homes' AND source_id = :id"),
                {"id": group["id"]}).one()
            # Stored whole for editors: the test would prove nothing if they were not.
            assert (row.address, row.phone, row.email) == (
                group["address"], group["phone"], group["email"])
            assert row.ward_code == group["ward_code"], group
            assert abs(row[7] - group["longitude"]) < 1e-7
            group.update(place_id=row.id, lsoa_code=row.lsoa_code, easting=row.easting,
                         northing=row.northing, published=(row.shown_lon, row.shown_lat))
    # Each group offers a way to help, and the officer first gives its home e-mail as the
    # way to apply (left out: it is private), then a public link; and records its results.
    path = tmp_path / "help.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "title", "place", "initiative", "apply_email", "apply_url"])
        for number, group in enumerate(groups):
            writer.writerow([f"help-{number}", f"Help {group['name']}", group["place_id"],
                             "out-and-about", group["email"], "https://example.org/help"])
    result = runner.invoke(main, ["opportunities", str(path), "--source", "homes-help"])
    assert result.exit_code == 0, result.output
    with db.begin() as connection:
        for group in groups:
            connection.execute(text(
                "INSERT INTO outcomes (initiative_id, period_start, period_end, place_id, "
                "people_supported, sessions_held, volunteers) VALUES ('out-and-about', "
                "'2026-04-01', '2026-06-30', :id, 12, 10, 2)"), {"id": group["place_id"]})
    return groups


def secrets(group) -> dict[str, list[bytes]]:
    """What would give a group's home away, each as the bytes a response could hold."""
    lon, lat = group["longitude"], group["latitude"]
    easting, northing = group["easting"], group["northing"]
    postcode = group["postcode"]
    return {
        "address": [group["address"].encode(), group["address"].split(",")[0].encode()],
        "postcode": [postcode.encode(), postcode.replace(" ", "").encode()],
        "phone": [group["phone"].encode(), group["phone"].replace(" ", "").encode()],
        "email": [group["email"].encode()],
        # To 1 m: the precision a page or a feed writes a point with.
        "point": [b"&".join((f"{lon:.{d}f}".encode(), f"{lat:.{d}f}".encode()))
                  for d in (6, 5)],
        "grid point": [b"&".join((f"{easting:.{d}f}".encode(), f"{northing:.{d}f}".encode()))
                       for d in (2, 1)],
    }


def near(body: bytes, first: bytes, second: bytes, window: int = 40) -> bool:
    """Whether `second` is within a few characters of some `first`: the two numbers of
    one position, however the response writes them (JSON pair, CSV cells, page text)."""
    start = body.find(first)
    while start >= 0:
        if second in body[max(0, start - window):start + len(first) + window]:
            return True
        start = body.find(first, start + 1)
    return False


def leaks_in(body: bytes, groups) -> list[str]:
    found = []
    for group in groups:
        for what, forms in secrets(group).items():
            for form in forms:
                parts = form.split(b"&")
                if near(body, *parts) if len(parts) == 2 else parts[0] in body:
                    found.append(f"{group['name']}: {what} {form.decode()}")
                    break
    return found


def in_tile(z: int, x: int, y: int, lon: float, lat: float) -> tuple[float, float]:
    n = 2 ** z
    fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n - y
    return ((lon + 180) / 360 * n - x) * EXTENT, (1 - fy) * EXTENT


def tile_leaks(body: bytes, groups, z: int, x: int, y: int) -> list[str]:
    """A vector tile's coordinates are the tile's own: each group's feature must be drawn
    at its published point, and not nearer its home; and no other point feature (an
    opportunity at the group, say, whose id is not the group's) is drawn at a home."""
    found = []
    by_id = {group["place_id"]: group for group in groups}
    for name, layer in mapbox_vector_tile.decode(body).items():
        for feature in layer["features"]:
            group = by_id.get(feature.get("id"))
            if feature["geometry"]["type"] != "Point":
                continue
            fx, fy = feature["geometry"]["coordinates"]
            for other in ([group] if group is not None else groups):
                px, py = in_tile(z, x, y, *other["published"])
                hx, hy = in_tile(z, x, y, other["longitude"], other["latitude"])
                off_published = math.hypot(fx - px, fy - py)
                to_home = math.hypot(fx - hx, fy - hy)
                if off_published > 2 and (to_home < off_published if group is not None
                                          else to_home <= 2):
                    found.append(f"{other['name']}: drawn at its home in {name} tile "
                                 f"{z}/{x}/{y}")
    return found


def public_requests(db, groups) -> list[str]:
    with db.connect() as connection:
        neighbourhoods = connection.execute(text(
            "SELECT code FROM areas WHERE kind = 'neighbourhood' ORDER BY code")).scalars().all()
        other_postcode = connection.execute(text(
            "SELECT postcode FROM postcodes WHERE postcode <> ALL(:own) "
            "ORDER BY geom_bng <-> (SELECT geom_bng FROM postcodes WHERE postcode = :first) "
            "LIMIT 1"), {"own": [g["postcode"] for g in groups],
                         "first": groups[0]["postcode"]}).scalar()
    urls = ["/", "/places.json", "/?kind=mutual_aid_group", "/places.json?kind=mutual_aid_group",
            f"/?postcode={other_postcode}", f"/places.json?postcode={other_postcode}",
            f"/api/nearest?postcode={other_postcode}&limit=100",
            f"/api/nearest?postcode={other_postcode}&limit=100&covering=true",
            f"/places.json?postcode={other_postcode}&open=MO&age=30&language=en",
            "/layers/places.geojson?open=MO&age=30", "/places.json?language=en",
            "/wards", "/wards.json", "/data", "/data.json",
            "/ogc/", "/ogc/?f=html", "/ogc/api", "/ogc/conformance", "/ogc/collections",
            "/ogc/collections?f=html",
            "/static/js/finder.js", "/vendor/leaflet/1.9.4/leaflet.js", "/login",
            "/healthz", "/livez", "/readyz", "/admin/users", "/admin/audit", "/edit",
            "/edit/import", "/edit/imports/1", "/edit/places/new",
            "/openreferral/", "/openreferral/openapi.json", "/openreferral/services?per_page=500",
            "/openreferral/service_at_locations?per_page=500",
            f"/openreferral/service_at_locations?postcode={other_postcode}&per_page=500",
            f"/openreferral/service_at_locations?postcode={other_postcode}&proximity=5000",
            "/openreferral/taxonomies", f"/openreferral/taxonomies/{oruk.CATEGORIES.id}",
            "/openreferral/taxonomy_terms?per_page=500"]
    with db.connect() as connection:
        term = oruk.terms(connection)[0]
        outcome = connection.execute(text("SELECT min(id) FROM outcomes")).scalar()
    urls.append(f"/openreferral/taxonomy_terms/{term.id}")
    urls += ["/help-out", "/help-out.json", "/help-out.jsonld", f"/help-out?postcode={other_postcode}",
             f"/help-out.json?postcode={other_postcode}&day=MO&age=30",
             "/help-out.json?lon=-1.6324&lat=53.7046", "/help-out?initiative=out-and-about",
             "/initiatives", "/initiatives.json", "/initiatives/out-and-about",
             "/initiatives/out-and-about.json", "/need", "/need.json?measure=out-and-about",
             "/outcomes.json", "/outcomes.csv", "/edit/outcomes", "/edit/outcomes/new",
             f"/edit/outcomes/{outcome}"]
    for group in groups:
        pid, lon, lat = group["place_id"], group["longitude"], group["latitude"]
        urls += [f"/?q={group['name']}", f"/places.json?q={group['name']}",
                 f"/places/{pid}", f"/places/{pid}.json", f"/places/{pid}/report",
                 f"/edit/places/{pid}",
                 f"/api/nearest?lon={lon}&lat={lat}&limit=100",
                 f"/api/nearest?lon={lon}&lat={lat}&kind=mutual_aid_group"]
        opportunity = oruk.stable_uuid(f"opportunity:homes-help:help-{groups.index(group)}")
        urls += [f"/help-out/{opportunity}", f"/help-out/{opportunity}.json",
                 f"/help-out/{opportunity}.jsonld",
                 f"/edit/opportunities/{opportunity}",
                 f"/edit/places/{pid}/opportunities/new",
                 f"/outcomes.json?ward={group['ward_code']}",
                 f"/outcomes.csv?ward={group['ward_code']}"]
        service = oruk.stable_uuid(f"service:{pid}")
        urls += [f"/edit/places/{pid}/services/new", f"/edit/services/{service}"]
        urls += [f"/openreferral/services/{service}",
                 f"/openreferral/service_at_locations/{oruk.service_at_location_id(service)}",
                 f"/openreferral/services?search={group['name']}"]
        code = group["ward_code"]
        urls += [f"/wards/{code}", f"/wards/{code}.json", f"/wards/{code}/map.html",
                 f"/api/wards/{code}"]
        for layer_id in ("places", "mutual-aid-groups"):
            for crs in ("", *(f"?crs={uri}" for uri in CRS.values())):
                urls.append(f"/ogc/collections/{layer_id}/items/{pid}{crs}")
            urls.append(f"/ogc/collections/{layer_id}/items/{pid}?f=html")
        for z in (8, 11, 13, 15, 17):
            x, y = tile_of(z, lon, lat)
            urls += [f"/tiles/{layer_id}/{z}/{x}/{y}.mvt" for layer_id in LAYERS]
    for code in neighbourhoods:
        urls += [f"/neighbourhoods/{code}", f"/neighbourhoods/{code}.json",
                 f"/neighbourhoods/{code}/map.html", f"/api/neighbourhoods/{code}"]
    for layer_id in LAYERS:
        base = f"/ogc/collections/{layer_id}"
        urls += [base, f"{base}?f=html", f"{base}/queryables", f"/tiles/{layer_id}.json",
                 f"/layers/{layer_id}.geojson", f"/layers/{layer_id}.csv",
                 f"/layers/{layer_id}.geojson?crs=EPSG:27700",
                 f"{base}/items?limit=10000", f"{base}/items?limit=10000&f=html",
                 *(f"{base}/items?limit=10000&crs={uri}" for uri in CRS.values())]
    return list(dict.fromkeys(urls))


def test_no_home_address_postcode_point_or_contact_reaches_any_public_route(
        app, client, db, homes):
    asked_rules = set()
    responses, leaks = 0, {}
    adapter = app.url_map.bind("localhost")
    for url in public_requests(db, homes):
        path = url.split("?")[0]
        rule, _ = adapter.match(path, method="GET", return_rule=True)
        asked_rules.add(rule.rule)
        response = client.get(url)
        responses += 1
        if path.startswith(PRIVATE_PREFIXES):
            assert response.status_code in (302, 401, 403), (url, response.status_code)
        elif rule.endpoint != "health.readyz":
            assert response.status_code in (200, 204), (url, response.status_code)
        body = response.get_data()
        if path.startswith("/api/nearest") and response.mimetype.endswith("json"):
            # The answer repeats the point it was asked from: that is the caller's own input.
            document = json.loads(body)
            document.pop("origin", None)
            body = json.dumps(document).encode()
        found = leaks_in(body, homes)
        if path.endswith(".mvt") and body:
            z, x, y = (int(part) for part in path[:-4].split("/")[-3:])
            found += tile_leaks(body, homes, z, x, y)
        if found:
            leaks[url] = found
    unasked = {rule.rule for rule in app.url_map.iter_rules()
               if "GET" in rule.methods} - asked_rules
    assert not unasked, f"public routes this test does not ask: {sorted(unasked)}"
    assert responses > 300
    found = sum(len(v) for v in leaks.values())
    assert not leaks, f"{found} leaks in {len(leaks)} of {responses} responses: {leaks}"


def test_each_group_is_published_inside_its_own_ward_and_lsoa(client, db, homes):
    feed = client.get("/layers/mutual-aid-groups.geojson").get_json()
    shown = {f["id"]: f for f in feed["features"]}
    with db.connect() as connection:
        for group in homes:
            feature = shown[group["place_id"]]
            assert feature["geometry"]["type"] == "Point"
            assert feature["properties"]["ward_code"] == group["ward_code"]
            inside_ward, inside_lsoa, from_home = connection.execute(text("""
                WITH shown AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS g)
                SELECT ST_Within(g, (SELECT geom FROM areas WHERE kind = 'ward' AND code = :w)),
                       ST_Within(g, (SELECT geom FROM areas WHERE kind = 'lsoa' AND code = :l)),
                       ST_Distance(g::geography,
                                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
                  FROM shown"""), {"g": json.dumps(feature["geometry"]),
                                   "w": group["ward_code"], "l": group["lsoa_code"],
                                   "lon": group["longitude"], "lat": group["latitude"]}).one()
            assert inside_ward and inside_lsoa, group["name"]
            assert from_home > 20, "shown at the area, not at the home"
    page = client.get(f"/wards/{homes[0]['ward_code']}").get_data(as_text=True)
    assert homes[0]["name"] in page
    assert "measured from that same point" in page


def test_a_filter_cannot_find_a_home_by_what_is_kept_private(client, homes):
    """A CQL2 filter reads only what is published: asking for a group by its home address,
    postcode, phone, e-mail or a few metres round its home finds nothing, though the same
    filter on its published name finds it (so each could fail)."""
    items = "/ogc/collections/mutual-aid-groups/items"
    for group in homes:
        found = client.get(items, query_string={"filter": f"name = '{group['name']}'"})
        assert [f["id"] for f in found.get_json()["features"]] == [group["place_id"]]
        street = group["address"].split(",")[0]
        for probe in (f"address LIKE '%{street}%'", f"postcode = '{group['postcode']}'",
                      f"phone = '{group['phone']}'", f"email = '{group['email']}'",
                      f"S_DWITHIN(geometry, POINT({group['longitude']} {group['latitude']}), 20)"):
            response = client.get(items, query_string={"filter": probe, "limit": 10000})
            assert response.status_code == 200, (probe, response.get_json())
            ids = [f["id"] for f in response.get_json()["features"]]
            assert group["place_id"] not in ids, probe
            # The links echo the asker's own filter; the features are what is published.
            features = json.dumps(response.get_json()["features"]).encode()
            assert not leaks_in(features, [group]), probe
