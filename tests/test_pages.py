"""The server-rendered pages (what people get without JavaScript) and their JSON twins."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import text

from mapping.display import walking_distance


class Page(HTMLParser):
    """The parts of a page the tests look at: asset URLs, inline scripts, result ids."""

    def __init__(self, html: str):
        super().__init__()
        self.assets, self.inline_scripts, self.result_ids, self.alternate = [], [], [], None
        self._script = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.assets.append(attrs["src"])
            else:
                self._script = attrs.get("type", "")
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.assets.append(attrs["href"])
        if tag == "link" and attrs.get("rel") == "alternate":
            self.alternate = attrs["href"]
        # Places in a list of results (an opportunity's result has its UUID, not a number).
        if (tag == "li" and "result" in (attrs.get("class") or "").split()
                and "opportunity" not in attrs["class"].split()):
            self.result_ids.append(int(attrs["data-id"]))

    def handle_data(self, data):
        if self._script is not None and data.strip():
            self.inline_scripts.append((self._script, data))

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def page(client, url, status=200) -> tuple[str, Page]:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    html = response.get_data(as_text=True)
    return html, Page(html)


def scalar(db, sql, **params):
    with db.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def first_ward(db) -> str:
    return scalar(db, "SELECT code FROM areas WHERE kind = 'ward' ORDER BY code LIMIT 1")


def first_neighbourhood(db) -> str:
    return scalar(db, "SELECT code FROM areas WHERE kind = 'neighbourhood' ORDER BY code LIMIT 1")


PAGES = ["/", "/?postcode={postcode}", "/?q=library&kind=community_asset", "/places/{place}",
         "/wards", "/wards?measure=coverage&kind=hub&distance=400", "/wards/{ward}",
         "/neighbourhoods/{neighbourhood}", "/data"]


@pytest.fixture
def urls(demo_data, db):
    values = {"postcode": scalar(db, "SELECT postcode FROM postcodes ORDER BY postcode LIMIT 1"),
              "place": scalar(db, "SELECT min(id) FROM places WHERE kind = 'hub'"),
              "ward": first_ward(db), "neighbourhood": first_neighbourhood(db)}
    return [p.format(**values) for p in PAGES]


def test_every_page_renders_with_no_inline_script_and_assets_that_exist(client, urls):
    for url in urls:
        html, parsed = page(client, url)
        executable = [body for kind, body in parsed.inline_scripts if kind != "application/json"]
        assert not executable, f"{url} has inline script"
        assert 'lang="en-GB"' in html and 'href="#main"' in html
        for asset in parsed.assets:
            assert client.get(asset).status_code == 200, f"{url} links {asset}, which is missing"
        assert not any("//" in asset for asset in parsed.assets), "assets come from the app"


def test_every_page_has_a_json_twin(client, urls):
    for url in urls:
        _, parsed = page(client, url)
        assert parsed.alternate, f"{url} has no JSON twin link"
        response = client.get(parsed.alternate)
        assert response.status_code == 200 and response.is_json, parsed.alternate


def test_leaflet_is_served_from_the_installed_package_only(client):
    from mapping.core.assets import installed_version

    version = installed_version("leaflet")
    response = client.get(f"/vendor/leaflet/{version}/leaflet.js")
    assert response.status_code == 200 and b"Leaflet" in response.data[:500]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get("/vendor/leaflet/0.0.1/leaflet.js").status_code == 404
    assert client.get(f"/vendor/leaflet/{version}/../package.json").status_code == 404
    assert client.get(f"/vendor/leaflet/{version}/..%2fpackage.json").status_code == 404
    assert client.get(f"/vendor/left-pad/{version}/index.js").status_code == 404


def test_the_finder_lists_every_place_a_to_z(client, demo_data):
    html, parsed = page(client, "/")
    assert "Showing 1 to 50 of 352 places, A to Z." in html
    assert len(parsed.result_ids) == 50
    _, second = page(client, "/?page=2")
    assert len(second.result_ids) == 50 and not set(second.result_ids) & set(parsed.result_ids)


def test_kind_category_and_name_filters(client, demo_data, db):
    _, hubs = page(client, "/?kind=hub")
    assert len(hubs.result_ids) == 12
    _, food = page(client, "/?category=food+bank&kind=community_asset")
    assert len(food.result_ids) == scalar(
        db, "SELECT count(*) FROM places WHERE 'food bank' = ANY(categories)")
    _, libraries = page(client, "/?q=LIBRARY")
    assert libraries.result_ids and all(
        "library" in scalar(db, "SELECT lower(name) FROM places WHERE id = :id", id=i)
        for i in libraries.result_ids)
    # A LIKE wildcard is a character to find, not a pattern.
    _, wildcard = page(client, "/?q=%25")
    assert wildcard.result_ids == []


def test_a_postcode_lists_the_nearest_places_in_true_distance_order(client, demo_data, db):
    postcode = scalar(db, "SELECT postcode FROM postcodes ORDER BY postcode LIMIT 1 OFFSET 7")
    html, parsed = page(client, "/?postcode=" + postcode.lower().replace(" ", ""))
    with db.connect() as connection:
        expected = connection.execute(text(
            "SELECT p.id, ST_Distance(p.public_point_bng, pc.geom_bng), p.location_precision "
            "FROM places p, postcodes pc WHERE pc.postcode = :pc ORDER BY 2, 1 LIMIT 20"),
            {"pc": postcode}).all()
    with db.connect() as connection:
        # Groups whose area covers the postcode, beyond the nearest: listed above them.
        covering = connection.execute(text(
            "SELECT p.id FROM places p, postcodes pc WHERE pc.postcode = :pc "
            "AND p.deleted_at IS NULL AND p.id <> ALL(:nearest) AND (EXISTS ("
            "  SELECT 1 FROM mutual_aid_groups m WHERE m.place_id = p.id "
            "  AND ST_Intersects(m.coverage, pc.geom) "
            "  AND NOT EXISTS (SELECT 1 FROM services s WHERE s.place_id = p.id)) "
            "OR EXISTS (SELECT 1 FROM services s JOIN service_areas a ON a.service_id = s.id "
            "  WHERE s.place_id = p.id AND ST_Intersects(a.geom, pc.geom))) "
            "ORDER BY ST_Distance(p.public_point_bng, pc.geom_bng), p.id"),
            {"pc": postcode, "nearest": [i for i, _, _ in expected]}).scalars().all()
    assert parsed.result_ids == covering + [place_id for place_id, _, _ in expected]
    assert f"Nearest places to {postcode}" in html
    words = [walking_distance(metres, precision) for _, metres, precision in expected]
    assert all(w in html for w in words)
    twin = client.get("/places.json?postcode=" + postcode).get_json()
    assert [p["id"] for p in twin["covering"]] == covering
    assert [p["id"] for p in twin["covering"] + twin["places"]] == parsed.result_ids
    assert [p["distance_text"] for p in twin["places"]] == words


def test_an_unknown_postcode_is_explained(client, demo_data):
    html, _ = page(client, "/?postcode=ZZ9+9ZZ")
    assert "We could not find the postcode ZZ9 9ZZ" in html
    assert 'aria-invalid="true"' in html
    response = client.get("/places.json?postcode=ZZ9+9ZZ")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    html, _ = page(client, "/?postcode=not+a+postcode")
    assert "does not look like a postcode" in html


@pytest.mark.parametrize("metres,words", [
    (0, "under 10 m, about a 1 minute walk"),
    (12, "10 m, about a 1 minute walk"),
    (350, "350 m, about a 4 minute walk"),
    (1234, "1.2 km, about a 15 minute walk"),
    (5600, "5.6 km, about a 1 hour 10 minute walk"),
    (4800, "4.8 km, about a 1 hour walk"),
    (12000, "12.0 km away"),
])
def test_distances_are_worded_for_walking(metres, words):
    assert walking_distance(metres) == words


def test_a_group_covering_the_area_searched_says_so():
    assert walking_distance(0, "area") == "Covers this area"


def test_a_place_page_shows_only_public_contacts(client, demo_data, db):
    with db.connect() as connection:
        group = connection.execute(text(
            "SELECT id, phone, email, address FROM places WHERE kind = 'mutual_aid_group' "
            "AND NOT phone_public AND NOT email_public LIMIT 1")).one()
        hub = connection.execute(text(
            "SELECT id, email FROM places WHERE kind = 'hub' AND email_public LIMIT 1")).one()
    html, _ = page(client, f"/places/{group.id}")
    assert group.phone not in html and group.email not in html
    twin = client.get(f"/places/{group.id}.json").get_json()
    assert "phone" not in twin["properties"] and "email" not in twin["properties"]
    html, _ = page(client, f"/places/{hub.id}")
    assert f'href="mailto:{hub.email}"' in html


def test_an_area_level_group_never_shows_its_private_point_or_address(client, demo_data, db):
    with db.connect() as connection:
        group = connection.execute(text(
            "SELECT id, address, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM places "
            "WHERE location_precision = 'area' LIMIT 1")).one()
    html, _ = page(client, f"/places/{group.id}")
    twin = client.get(f"/places/{group.id}.json").get_data(as_text=True)
    for body in (html, twin):
        assert group.address not in body
        assert f"{group.lon:.6f}"[:-1] not in body and f"{group.lat:.6f}"[:-1] not in body
    assert "never at anyone's home" in html


def test_only_safe_links_are_made_from_imported_data(client, demo_data, db):
    place_id = scalar(db, "SELECT min(id) FROM places WHERE kind = 'community_asset'")
    with db.begin() as connection:
        connection.execute(text(
            "UPDATE places SET website = 'javascript:alert(1)', name = '<b>Bold</b> & Co' "
            "WHERE id = :id"), {"id": place_id})
    html, _ = page(client, f"/places/{place_id}")
    assert "javascript:" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html and "<b>Bold</b>" not in html
    twin = client.get(f"/places/{place_id}.json").get_json()
    assert "website" not in twin["properties"]


def test_an_unknown_place_or_area_is_a_friendly_404(client, demo_data):
    html, _ = page(client, "/places/999999", status=404)
    assert "There is no place with that number." in html
    page(client, "/wards/NOPE", status=404)
    page(client, "/neighbourhoods/NOPE", status=404)
    response = client.get("/wards/NOPE.json")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_the_wards_table_accounts_for_every_place(client, demo_data, db):
    body = client.get("/wards.json").get_json()
    assert len(body["wards"]) == 23
    assert sum(w["places"] for w in body["wards"]) == scalar(
        db, "SELECT count(*) FROM places WHERE ward_code IS NOT NULL AND deleted_at IS NULL")
    assert 1 <= len(body["classes"]) <= 5
    assert all(w["colour"] for w in body["wards"])


def test_a_ward_page_lists_its_places_neighbourhoods_and_downloads(client, demo_data, db):
    code = first_ward(db)
    html, _ = page(client, f"/wards/{code}")
    count = scalar(db, "SELECT count(*) FROM places WHERE ward_code = :c AND deleted_at IS NULL",
                   c=code)
    assert f'data-count="{count}"' in html
    # Each place once in the list of places (the I'm in sections below link some again).
    listing = html[html.index('id="places-heading"'):html.index('id="help-heading"')]
    assert listing.count('href="/places/') == count
    assert f"/layers/places.csv?ward={code}" in html
    assert f"/wards/{code}/map.html" in html
    assert 'media="print"' in html
    twin = client.get(f"/wards/{code}.json").get_json()
    assert len(twin["places"]) == count
    assert twin["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_a_neighbourhood_page_names_its_wards(client, demo_data, db):
    code = first_neighbourhood(db)
    html, _ = page(client, f"/neighbourhoods/{code}")
    twin = client.get(f"/neighbourhoods/{code}.json").get_json()
    assert twin["overlapping"]
    for ward in twin["overlapping"]:
        assert f'href="/wards/{ward["code"]}"' in html


def test_the_printable_map_uses_the_apps_leaflet_and_escapes_names(client, demo_data, db):
    code = first_ward(db)
    place_id = scalar(db, "SELECT min(id) FROM places WHERE ward_code = :c", c=code)
    hostile = "</script><script>alert(1)</script>`${alert(2)}`\\"
    with db.begin() as connection:
        connection.execute(text("UPDATE places SET name = :n WHERE id = :id"),
                           {"n": hostile, "id": place_id})
    response = client.get(f"/wards/{code}/map.html")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    # The app's own files only: Leaflet from /vendor/, the icon from /static/.
    assert sources and all(s.startswith(("/vendor/", "/static/")) for s in sources), sources
    assert any(s.startswith("/vendor/leaflet/") for s in sources), sources
    assert "alert(1)</script>" not in html and "${alert(2)}" not in html
    assert '<html lang="en-GB">' in html and "user-scalable=no" not in html
    policy = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "'sha256-" in policy


def test_the_data_page_gives_every_layers_addresses(client, demo_data):
    from layers.registry import LAYERS

    html, _ = page(client, "/data")
    for layer_id in LAYERS:
        for url in (f"/layers/{layer_id}.geojson", f"/layers/{layer_id}.csv",
                    f"/ogc/collections/{layer_id}/items", f"/tiles/{layer_id}/{{z}}/{{x}}/{{y}}.mvt",
                    f"/tiles/{layer_id}.json"):
            assert f'value="http://localhost{url}"' in html, url
    assert "Open Government Licence v3.0" in html
    assert "Add WFS / OGC API" in html
    twin = client.get("/data.json").get_json()
    assert {layer["id"] for layer in twin["layers"]} == set(LAYERS)


def test_the_basemap_comes_from_settings(database_url, db, demo_data):
    from mapping import create_app

    app = create_app({"database_url": database_url,
                      "basemap_url": "https://tiles.example.org/{z}/{x}/{y}.png",
                      "basemap_attribution": "Example tiles"})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in html and "Example tiles" in html
    for key in ("assetmap.engine", "assetmap.read_engine"):
        app.extensions[key].dispose()


def test_choropleth_shades_run_from_light_to_dark_even_when_many_wards_tie():
    from mapping.wards.councillors import PALETTE, class_of, classify

    values = [0, 0, 0, 0, 0, 1.2, 3.2, 5, 20, 40]
    classes = classify(values)
    assert classes[0]["colour"] == PALETTE[0] and classes[-1]["colour"] == PALETTE[-1]
    assert all(class_of(v, classes)["low"] <= v <= class_of(v, classes)["high"] for v in values)
    assert classify([None, None]) == []


@pytest.mark.parametrize("url", ["/?q=a%00b", "/places.json?postcode=a%00b", "/wards/a%00b",
                                 "/wards/a%00b/map.html", "/neighbourhoods/a%00b",
                                 "/places/1.json?x%00=1", "/data?q=%00"])
def test_a_nul_character_in_the_address_is_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    if ".json" in url:
        assert response.mimetype == "application/problem+json"
