"""A resident on a 360 px phone, on the demo district with the real March 2020 mutual aid
groups imported on top (they come with no categories, long Facebook links and the area
they serve as written by their organisers): a search brings its answer on screen, place
pages fit the phone and draw their ward, and a name finds the groups serving that area."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from importers.places import import_places
from tests.browser.conftest import PHONE
from tests.conftest import shared_data

pytestmark = pytest.mark.browser

MARCH = "mutual-aid/uk-groups-2020-03-27.json"
# Based in Batley East (Soothill); its name does not say Batley, its area served does.
SOOTHILL = "Dawatal Islam Support Group"
LEEDS = {"latitude": 53.7997, "longitude": -1.5492}

ON_SCREEN = """() => {
    const focused = document.activeElement;
    const box = focused.getBoundingClientRect();
    return {inResults: Boolean(focused.closest('.results-column')), tag: focused.tagName,
            text: focused.textContent, top: box.top, bottom: box.bottom,
            height: window.innerHeight};
}"""


@pytest.fixture
def real_groups(demo_data, db):
    """The demo district and places, and the real groups of the March 2020 export."""
    report = import_places(db, "mutual-aid", shared_data(MARCH))
    assert report.status == "committed" and report.counts["inserted"] == 27, report.counts
    return db


def longest_linked_place(db, source_is_demo: bool) -> tuple[int, str]:
    """The place with the longest website or link, and that address."""
    with db.connect() as connection:
        return tuple(connection.execute(text("""
            SELECT p.id, u.url FROM places p
              LEFT JOIN mutual_aid_groups mg ON mg.place_id = p.id
             CROSS JOIN LATERAL unnest(array_append(coalesce(mg.links, '{}'), p.website)) u(url)
             WHERE p.deleted_at IS NULL AND (p.source = 'demo') = :demo AND u.url IS NOT NULL
             ORDER BY length(u.url) DESC, p.id LIMIT 1"""), {"demo": source_is_demo}).one())


def results_heading_top(page) -> float:
    return page.evaluate("() => document.getElementById('results-heading')"
                         ".getBoundingClientRect().top + window.scrollY")


def assert_answer_on_screen(page, heading: str) -> dict:
    seen = page.evaluate(ON_SCREEN)
    assert seen["inResults"] and seen["tag"] == "H2", seen
    assert seen["text"].startswith(heading), seen
    assert 0 <= seen["top"] and seen["bottom"] <= seen["height"], seen
    return seen


def test_a_search_on_a_phone_brings_its_answer_on_screen_and_focuses_it(
        browse, demo_data, map_ready, screenshot):
    page = browse("/", viewport=PHONE)
    map_ready(page)
    # Below the form, the kinds and the map: far below the bottom of a 740 px screen.
    assert results_heading_top(page) > PHONE["height"]
    page.fill("#postcode", "HD1 2TA")
    page.press("#postcode", "Enter")
    expect(page.locator("#results-heading")).to_have_text("Nearest places to HD1 2TA")
    # A postcode search lists the groups whose area covers it first, then the nearest.
    assert_answer_on_screen(page, "Groups that serve HD1 2TA")
    screenshot(page, "walkthrough-phone-postcode")

    page.fill("#postcode", "")
    page.fill("#q", "library")
    page.press("#q", "Enter")
    expect(page.locator("#results-heading")).to_have_text("Places matching your search")
    assert_answer_on_screen(page, "Places matching your search")
    expect(page.locator("#results-summary")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#results-summary")).to_contain_text("places")
    page.watch.assert_quiet()


def test_near_me_from_leeds_says_it_is_outside_kirklees_on_screen(
        browse, demo_data, map_ready, screenshot):
    page = browse("/", viewport=PHONE, geolocation=LEEDS, permissions=["geolocation"])
    map_ready(page)
    page.click("#near-me")
    expect(page.locator("#postcode-notice")).to_contain_text("Your location is outside Kirklees")
    expect(page.locator("#postcode-notice")).to_contain_text("search by postcode")
    assert_answer_on_screen(page, "Nearest places to your location")
    notice = page.locator("#postcode-notice").bounding_box()
    assert notice["y"] >= 0 and notice["y"] + notice["height"] <= PHONE["height"]
    # The server's "Next page" belongs to the whole list, not to an answer from here.
    expect(page.locator(".pagination")).to_have_count(0)
    screenshot(page, "walkthrough-phone-near-me-leeds")
    page.watch.assert_quiet()


def test_place_pages_fit_a_phone_show_each_link_once_and_draw_their_ward(
        browse, real_groups, map_ready, screenshot):
    for demo, name in ((True, "demo"), (False, "real")):
        place_id, url = longest_linked_place(real_groups, demo)
        # The tiles failing must not take the ward's outline with them.
        page = browse(f"/places/{place_id}", viewport=PHONE, basemap="blocked")
        map_ready(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.locator(f'main a[href="{url}"]').count() == 1
        outline = page.locator("#map path.area-outline")
        expect(outline).to_have_count(1)
        box, frame = outline.bounding_box(), page.locator("#map").bounding_box()
        assert box["width"] > 50 and box["height"] > 50
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
        expect(page.locator("#map .place-marker")).to_have_count(1)
        screenshot(page, f"walkthrough-phone-place-{name}")
        page.watch.assert_quiet(allow_tile_errors=True)


def test_a_name_finds_groups_by_the_area_they_serve_and_counts_every_group(
        browse, real_groups, client, map_ready, screenshot):
    with real_groups.connect() as connection:
        groups = connection.execute(text(
            "SELECT count(*) FROM published_places WHERE kind = 'mutual_aid_group'")).scalar_one()
        categorised = connection.execute(text(
            "SELECT count(*) FROM published_places WHERE 'mutual aid' = ANY(categories)")).scalar_one()
    assert groups > categorised  # the real groups come without categories

    # Without JavaScript (the JSON twin of the page) and with it, alike.
    twin = client.get("/places.json?q=batley").get_json()
    assert SOOTHILL not in [p["name"] for p in twin["places"]]
    serving = {p["name"]: p for p in twin["covering"]}
    assert serving[SOOTHILL]["area_served"] == "Soothill, Batley"
    assert SOOTHILL not in [p["name"] for p in client.get(
        "/places.json?q=batley&kind=community_asset").get_json()["covering"]]
    assert client.get("/places.json?category=mutual+aid").get_json()["total"] == groups

    page = browse("/", viewport=PHONE)
    map_ready(page)
    expect(page.locator("#category option[value='mutual aid']")).to_have_text(
        f"Mutual aid ({groups})")
    page.fill("#q", "batley")
    page.press("#q", "Enter")
    expect(page.locator("#covering-heading")).to_have_text("Groups that serve “batley”")
    found = page.locator("#covering-list .result", has_text=SOOTHILL)
    expect(found).to_have_count(1)
    expect(found.locator(".result-covers")).to_have_text("Serves Soothill, Batley")
    assert_answer_on_screen(page, "Groups that serve")
    screenshot(page, "walkthrough-phone-batley")

    page.fill("#q", "")
    page.select_option("#category", "mutual aid")
    page.wait_for_function(f"() => document.getElementById('map').dataset.shown === '{groups}'")
    page.watch.assert_quiet()
