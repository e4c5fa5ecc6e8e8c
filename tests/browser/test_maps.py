"""The maps in a real browser: what residents, councillors and GIS officers see and do."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from mapping.display import walking_distance

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}

HOSTILE = "<img src=x onerror=alert(1)>"


def a_ward(db) -> str:
    with db.connect() as connection:
        return connection.execute(text(
            "SELECT ward_code FROM places WHERE deleted_at IS NULL GROUP BY ward_code "
            "ORDER BY count(*) DESC, ward_code LIMIT 1")).scalar_one()


def a_place(db, kind="hub") -> int:
    with db.connect() as connection:
        return connection.execute(text(
            "SELECT min(id) FROM places WHERE kind = :kind"), {"kind": kind}).scalar_one()


def add_place(db, name, lon, lat, *, kind="community_asset", precision="exact", **fields) -> int:
    with db.begin() as connection:
        place_id = connection.execute(text(
            "INSERT INTO places (kind, source, source_id, name, description, website, geom, "
            "location_precision, categories) VALUES (:kind, 'test', :sid, :name, :description, "
            ":website, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :precision, :categories) "
            "RETURNING id"),
            {"kind": kind, "sid": f"{name}-{lon}-{lat}", "name": name, "lon": lon, "lat": lat,
             "precision": precision, "description": fields.get("description"),
             "website": fields.get("website"),
             "categories": fields.get("categories", ["community centre"])}).scalar_one()
        connection.execute(text("SELECT assetmap_assign_areas()"))
    return place_id


def listed_ids(page) -> list[int]:
    return [int(i) for i in page.locator("#results-list .result").evaluate_all(
        "items => items.map(item => item.dataset.id)")]


def nearest_by_sql(db, postcode, limit=20) -> list[tuple[int, float, str]]:
    with db.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT p.id, ST_Distance(p.public_point_bng, pc.geom_bng) AS d, p.location_precision "
            "FROM places p, postcodes pc "
            "WHERE pc.postcode = :postcode AND p.deleted_at IS NULL ORDER BY d, p.id LIMIT :limit"),
            {"postcode": postcode, "limit": limit})]


def a_postcode(db) -> str:
    with db.connect() as connection:
        return connection.execute(text(
            "SELECT postcode FROM postcodes ORDER BY postcode_key LIMIT 1 OFFSET 100")).scalar_one()


def visible_place_total(page) -> int:
    """Markers on the map plus the places inside the clusters drawn."""
    return page.evaluate("""() => {
        const markers = document.querySelectorAll('.leaflet-marker-pane .place-marker').length;
        const clustered = [...document.querySelectorAll('.leaflet-marker-pane .place-cluster')]
            .reduce((sum, c) => sum + parseInt(c.textContent, 10), 0);
        return markers + clustered;
    }""")


def test_the_resident_map_shows_clustered_places_beside_the_list(browse, demo_data, map_ready,
                                                                  screenshot):
    page = browse("/")
    shown = map_ready(page)
    assert shown == 352
    expect(page.locator(".place-cluster").first).to_be_visible()
    assert page.locator("#results-list .result").count() == 50
    expect(page.locator("#results-summary")).to_have_text("Showing 1 to 50 of 352 places, A to Z.")
    page.wait_for_timeout(500)  # cluster animation
    assert visible_place_total(page) == 352
    screenshot(page, "resident-map")
    page.watch.assert_quiet()


def test_a_kind_filter_changes_the_map_and_the_list_together(browse, demo_data, map_ready):
    page = browse("/")
    map_ready(page)
    for kind in ("community_asset", "transferred_building", "mutual_aid_group"):
        page.uncheck(f"#kind-{kind}")
    expect(page.locator("#map")).to_have_attribute("data-shown", "12")
    expect(page.locator("#results-list .result")).to_have_count(12)
    assert page.locator("#results-list .kind-badge.kind-hub").count() == 12
    page.wait_for_timeout(800)
    assert visible_place_total(page) == 12
    assert page.locator(".place-marker:not(.kind-hub)").count() == 0
    assert "kind=hub" in page.url

    page.select_option("#category", "community hub")
    expect(page.locator("#results-list .result")).to_have_count(4)
    expect(page.locator("#map")).to_have_attribute("data-shown", "4")
    page.watch.assert_quiet()


def test_a_name_search_narrows_map_and_list(browse, demo_data, map_ready):
    page = browse("/")
    map_ready(page)
    page.fill("#q", "library")
    expect(page.locator("#results-heading")).to_have_text("Places matching your search")
    count = page.locator("#results-list .result").count()
    assert 0 < count < 50
    expect(page.locator("#map")).to_have_attribute("data-shown", str(count))
    names = page.locator("#results-list .result-name").all_inner_texts()
    assert all("library" in name.lower() for name in names)
    page.watch.assert_quiet()


def test_a_postcode_search_lists_places_in_true_distance_order(browse, demo_data, db, map_ready,
                                                                screenshot):
    postcode = a_postcode(db)
    page = browse("/")
    map_ready(page)
    page.fill("#postcode", postcode.lower())
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-heading")).to_have_text(f"Nearest places to {postcode}")
    expected = nearest_by_sql(db, postcode)
    ids = listed_ids(page)
    assert ids == [place_id for place_id, _, _ in expected]
    words = page.locator("#results-list .result-distance").all_inner_texts()
    assert words == [walking_distance(metres, precision) for _, metres, precision in expected]
    assert map_ready(page) == 20
    assert f"postcode={postcode.replace(' ', '+')}" in page.url
    screenshot(page, "resident-postcode-search")
    page.watch.assert_quiet()


def test_an_unknown_postcode_is_explained(browse, demo_data, map_ready):
    page = browse("/")
    map_ready(page)
    page.fill("#postcode", "ZZ9 9ZZ")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".error-summary")).to_contain_text("could not find the postcode ZZ9 9ZZ")
    expect(page.locator(".error-summary")).to_be_focused()
    page.watch.console_errors.clear()  # the browser logs the 404 answer itself
    page.watch.assert_quiet()


def test_near_me_lists_the_nearest_places_from_the_browsers_location(browse, demo_data, db,
                                                                       map_ready):
    # On the moors, beyond every demo group's coverage area.
    place_id = add_place(db, "Right Here Community Centre", -1.9900, 53.5850)
    page = browse("/", geolocation={"latitude": 53.5851, "longitude": -1.9900},
                  permissions=["geolocation"])
    map_ready(page)
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#results-heading")).to_have_text("Nearest places to your location")
    assert listed_ids(page)[0] == place_id
    expect(page.locator("#results-list .result-distance").first).to_have_text(
        "10 m, about a 1 minute walk")  # 11 m: the browser sends 5 decimal places
    page.watch.assert_quiet()


def test_places_on_one_spot_are_spread_out_and_listed(browse, demo_data, db, map_ready):
    ids = {add_place(db, f"Shared Spot Group {n}", -1.9500, 53.6000) for n in range(5)}
    page = browse("/?q=Shared+Spot")
    assert map_ready(page) == 5
    cluster = page.locator(".place-cluster").first
    expect(cluster).to_contain_text("5")
    cluster.click()
    expect(page.locator("#results-heading")).to_have_text("5 places at this spot")
    assert set(listed_ids(page)) == ids
    page.wait_for_timeout(800)
    assert page.locator(".leaflet-marker-pane .place-marker").count() == 5  # spiderfied
    page.get_by_role("button", name="Back to all results").click()
    expect(page.locator("#results-heading")).to_have_text("Places matching your search")
    page.watch.assert_quiet()


def test_a_ward_page_counts_what_the_feed_counts(browse, demo_data, db, live_server, map_ready,
                                                 screenshot):
    code = a_ward(db)
    page = browse(f"/wards/{code}")
    shown = map_ready(page)
    count = int(page.locator("#place-count").inner_text())
    feed = page.request.get(f"{live_server}/layers/places.geojson?ward={code}").json()
    assert count == len(feed["features"]) == shown > 0
    expect(page.locator(".leaflet-overlay-pane path").first).to_be_attached()
    screenshot(page, "ward")
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.locator("#place-count")).to_be_visible()
    screenshot(page, "ward-print")
    page.watch.assert_quiet()


def test_the_wards_choropleth_has_a_legend_and_a_table(browse, demo_data, map_ready, screenshot):
    page = browse("/wards")
    assert map_ready(page) == 23
    assert page.locator(".leaflet-overlay-pane path").count() == 23
    assert page.locator("#legend li").count() >= 3
    assert page.locator("#wards-table tbody tr").count() == 23
    screenshot(page, "wards")
    page.select_option("#measure", "coverage")
    page.select_option("#kind", "hub")
    page.get_by_role("button", name="Show").click()
    map_ready(page)
    expect(page.locator("#measure-title")).to_contain_text("Residents within 800 m")
    screenshot(page, "wards-coverage")
    page.watch.assert_quiet()


def test_a_neighbourhood_page_and_a_place_page(browse, demo_data, db, map_ready, screenshot):
    with db.connect() as connection:
        code = connection.execute(text(
            "SELECT code FROM areas WHERE kind = 'neighbourhood' ORDER BY code LIMIT 1")).scalar_one()
    page = browse(f"/neighbourhoods/{code}")
    map_ready(page)
    screenshot(page, "neighbourhood")
    page.watch.assert_quiet()
    page = browse(f"/places/{a_place(db)}")
    assert map_ready(page) == 1
    expect(page.locator(".leaflet-marker-pane .place-marker")).to_have_count(1)
    screenshot(page, "place")
    page.watch.assert_quiet()


def test_imported_markup_is_shown_as_text_and_never_runs(browse, demo_data, db, map_ready):
    place_id = add_place(db, HOSTILE, -1.7820, 53.6460, description=HOSTILE,
                         website="javascript:alert(2)")
    with db.connect() as connection:
        ward = connection.execute(text("SELECT ward_code FROM places WHERE id = :id"),
                                  {"id": place_id}).scalar_one()
    page = browse("/?q=img")
    map_ready(page)
    item = page.locator("#results-list .result-name")
    expect(item).to_have_text(HOSTILE)
    page.get_by_role("button", name="Show on map").first.click()
    expect(page.locator(".leaflet-popup-content .popup-name")).to_have_text(HOSTILE)
    for path in ("/?q=img", f"/places/{place_id}", f"/wards/{ward}", f"/wards/{ward}/map.html"):
        page = browse(path)
        if path != f"/wards/{ward}/map.html":
            map_ready(page)
        else:
            page.locator(".folium-map path").first.wait_for(state="attached")
            page.locator(".folium-map path.leaflet-interactive").last.hover()
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        page.wait_for_timeout(300)
        page.watch.assert_quiet()
    expect(browse(f"/places/{place_id}").locator("h1")).to_have_text(HOSTILE)


@pytest.mark.parametrize("path", ["/", "/wards", "/wards/{ward}", "/places/{place}", "/data"])
def test_pages_fit_a_phone_screen(browse, demo_data, db, map_ready, screenshot, path):
    url = path.format(ward=a_ward(db), place=a_place(db))
    page = browse(url, viewport=PHONE)
    if path != "/data":
        map_ready(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{url} is {width} px wide at 360 px"
    if path == "/":
        map_box = page.locator("#map").bounding_box()
        list_box = page.locator("#results-list").bounding_box()
        assert map_box["y"] + map_box["height"] <= list_box["y"]  # the list below the map
    name = {"/": "resident-map", "/wards": "wards", "/wards/{ward}": "ward",
            "/places/{place}": "place", "/data": "data"}[path]
    screenshot(page, f"{name}-phone")
    page.watch.assert_quiet()


def test_the_finder_works_without_javascript(browse, demo_data, db, screenshot):
    page = browse("/", javascript=False)
    expect(page.locator("#map-panel")).to_be_hidden()
    assert page.locator("#results-list .result").count() == 50
    postcode = a_postcode(db)
    page.fill("#postcode", postcode)
    page.uncheck("#kind-mutual_aid_group")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-heading")).to_have_text(f"Nearest places to {postcode}")
    with db.connect() as connection:
        expected = connection.execute(text(
            "SELECT p.id FROM places p, postcodes pc WHERE pc.postcode = :pc "
            "AND p.kind <> 'mutual_aid_group' ORDER BY ST_Distance(p.public_point_bng, pc.geom_bng), p.id "
            "LIMIT 20"), {"pc": postcode}).scalars().all()
    assert listed_ids(page) == expected
    screenshot(page, "resident-no-javascript")
    page.get_by_role("link", name="Clear search").click()
    page.fill("#q", "food bank")
    page.get_by_role("button", name="Search").click()
    names = page.locator("#results-list .result-name").all_inner_texts()
    assert names and all("food bank" in n.lower() for n in names)
    page.watch.assert_quiet()


@pytest.mark.parametrize("path", ["/wards", "/wards/{ward}", "/places/{place}", "/data"])
def test_other_pages_work_without_javascript(browse, demo_data, db, path):
    url = path.format(ward=a_ward(db), place=a_place(db))
    page = browse(url, javascript=False)
    expect(page.locator("h1")).to_be_visible()
    if path == "/wards":
        assert page.locator("#wards-table tbody tr").count() == 23
    if path == "/wards/{ward}":
        count = int(page.locator("#place-count").inner_text())
        assert page.locator(".kind-section li").count() == count
    if path == "/data":
        expect(page.locator("#places-geojson")).to_have_value(
            page.url.replace("/data", "/layers/places.geojson"))
        assert page.locator(".copy-button:visible").count() == 0
    page.watch.assert_quiet()


def test_without_the_basemap_boundaries_places_and_list_still_work(browse, demo_data, db,
                                                                  map_ready, screenshot):
    page = browse("/", basemap="blocked")
    assert map_ready(page) == 352
    expect(page.locator("#map-status")).to_contain_text("background map could not be loaded")
    expect(page.locator(".place-cluster").first).to_be_visible()
    assert page.locator(".leaflet-overlay-pane path").count() == 23  # ward outlines
    page.fill("#q", "library")
    expect(page.locator("#map")).not_to_have_attribute("data-shown", "352")
    assert page.watch.tiles, "the basemap was never asked for"
    screenshot(page, "resident-map-no-basemap")
    page.watch.assert_quiet(allow_tile_errors=True)

    page = browse(f"/wards/{a_ward(db)}", basemap="blocked")
    assert map_ready(page) > 0
    assert page.locator(".leaflet-overlay-pane path").count() >= 1
    page.watch.assert_quiet(allow_tile_errors=True)


def test_the_printable_map_loads_only_the_apps_own_files(browse, demo_data, db, screenshot):
    page = browse(f"/wards/{a_ward(db)}/map.html")
    expect(page.locator(".folium-map")).to_be_visible()
    page.locator(".folium-map path.leaflet-interactive").first.wait_for(state="attached")
    assert page.evaluate("document.documentElement.lang") == "en-GB"
    screenshot(page, "ward-printable-map")
    page.watch.assert_quiet()


def test_walking_distances_read_the_same_in_the_browser(browse, demo_data):
    page = browse("/")
    page.wait_for_function("window.AssetMap !== undefined")
    for metres in (0, 4, 95, 350, 999, 1000, 1234, 4790, 4800, 7999, 8001, 15000):
        for precision in ("exact", "area"):
            assert page.evaluate("([m, p]) => AssetMap.walkingDistance(m, p)",
                                 [metres, precision]) == walking_distance(metres, precision)
