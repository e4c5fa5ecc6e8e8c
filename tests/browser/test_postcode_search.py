"""Postcode search in Chromium with JavaScript on: real Kirklees postcodes typed as residents
type them find the nearest places from their own point; a postcode outside the district,
one not loaded, a string that is not a postcode, no postcodes at all and "use my location"
from outside Kirklees each read exactly as they do with JavaScript off."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from importers.boundaries import import_boundaries
from importers.places import import_places
from mapping import create_app, postcode_search
from tests.conftest import shared_data
from tests.test_postcode_search import (
    MUTUAL_AID,
    NEIGHBOURS,
    WARDS,
    assert_nearest,
    distances_from,
    error_text,
    file_rows,
    kirklees,  # noqa: F401 - a fixture
    load_gb_postcodes,
    lon_lat_of,
    page_text,
    sample,
    spellings,
)


@pytest.fixture
def app(database_url, db):
    app = create_app({"database_url": database_url, "TESTING": True,
                      "rate_limit_search": "100000 per minute"})
    yield app
    for key in ("assetmap.engine", "assetmap.read_engine"):
        app.extensions[key].dispose()


def search(page, typed: str) -> None:
    page.fill("#postcode", typed)
    page.click("#finder button[type=submit]")


def shown_ids(page) -> list[int]:
    return [int(i) for i in page.locator("#results-list .result").evaluate_all(
        "items => items.map(i => i.getAttribute('data-id'))")]


def test_real_postcodes_typed_any_way_find_the_nearest_from_their_own_point(
        kirklees, browse, map_ready):  # noqa: F811
    rows = sample(file_rows())[::3]
    page = browse("/")
    map_ready(page)
    with kirklees.connect() as connection:
        truth = lon_lat_of(connection, rows)
        for number, row in enumerate(rows):
            published = row["Postcode"]
            # Lower case, no space, extra spaces in turn.
            search(page, spellings(published)[1 + number % 3])
            expect(page.locator("#results-heading")).to_have_text(f"Nearest places to {published}")
            expect(page.locator("#results-list .result")).to_have_count(20)
            assert page.locator("#error-summary").count() == 0
            assert page.locator("#postcode-notice").count() == 0
            assert_nearest(shown_ids(page), distances_from(connection, *truth[published]))
    page.watch.assert_quiet()


def messages_without_javascript(browse, query: str) -> tuple[str | None, str | None]:
    page = browse("/?" + query, javascript=False)
    html = page.content()
    return error_text(html), page_text(html, "postcode-notice")


def test_every_message_reads_the_same_with_javascript_on_and_off(
        kirklees, browse, map_ready, tmp_path):  # noqa: F811
    outside = NEIGHBOURS["hx.csv"]
    load_gb_postcodes(kirklees, tmp_path, {"hx.csv": outside})
    cases = [
        (outside.lower(), None, postcode_search.message("outside", outside)),
        ("sw1a1aa", postcode_search.message("unknown", "SW1A 1AA"), None),
        ("not a postcode", postcode_search.message("not_a_postcode", "NOT A POSTCODE"), None),
    ]
    page = browse("/")
    map_ready(page)
    for typed, error, notice in cases:
        assert messages_without_javascript(browse, "postcode=" + typed) == (error, notice)
        search(page, typed)
        if error:
            expect(page.locator("#error-summary a")).to_have_text(error)
            expect(page.locator("#postcode-notice")).to_have_count(0)
        else:
            expect(page.locator("#postcode-notice")).to_have_text(notice)
            expect(page.locator("#error-summary")).to_have_count(0)
            expect(page.locator("#results-heading")).to_have_text(f"Nearest places to {outside}")
    # Opened from an address, the server's words are not repeated by the script.
    opened = browse("/?postcode=" + outside.replace(" ", "+"))
    map_ready(opened)
    expect(opened.locator("#postcode-notice")).to_have_count(1)
    expect(opened.locator("#postcode-notice")).to_have_text(cases[0][2])
    # The unknown and malformed postcodes are 404 and 400 answers, which Chromium logs.
    page.watch.assert_quiet(allow_tile_errors=True)


def test_with_no_postcodes_the_box_says_search_is_not_available(db, browse, map_ready):
    import_boundaries(db, "wards", shared_data(WARDS), code_field="WD13CD", name_field="WD13NM")
    import_places(db, "mutual-aid", shared_data(MUTUAL_AID))
    unavailable = postcode_search.message("unavailable")
    assert messages_without_javascript(browse, "postcode=HD1+2TA") == (unavailable, None)
    page = browse("/")
    map_ready(page)
    expect(page.locator("#postcode")).to_be_visible()
    expect(page.locator("#postcode-hint")).to_have_text("Postcode search is not available yet")
    search(page, "HD1 2TA")
    expect(page.locator("#error-summary a")).to_have_text(unavailable)
    page.watch.assert_quiet()


def test_my_location_outside_kirklees_is_said_to_be(kirklees, browse, map_ready):  # noqa: F811
    # Halifax town centre, about 5 km beyond the Kirklees boundary.
    page = browse("/", permissions=["geolocation"],
                  geolocation={"latitude": 53.7210, "longitude": -1.8640})
    map_ready(page)
    page.click("#near-me")
    expect(page.locator("#results-heading")).to_have_text("Nearest places to your location")
    expect(page.locator("#postcode-notice")).to_contain_text("Your location is outside Kirklees")
    page.watch.assert_quiet()
