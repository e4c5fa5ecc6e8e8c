""""I'm in" in a real browser: the help-out finder with JavaScript off (a form and a list,
on a 360 px phone) and on ("Use my location"), an opportunity's page, and a councillor's
ward and need views. The truths are SQL on the demo's opportunities and the real
postcodes, in true distance order."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.test_maps import PHONE

pytestmark = pytest.mark.browser


def listed(page) -> list[str]:
    return page.locator("#results-list .result").evaluate_all(
        "items => items.map(item => item.dataset.id)")


def nearest(db, *, lon: float, lat: float, day: str | None = None,
            skill: str | None = None, limit: int = 50) -> list[str]:
    """The open opportunities nearest the point, from their days and skills."""
    with db.connect() as connection:
        return connection.execute(text("""
            SELECT o.id::text FROM published_opportunities o
             WHERE (CAST(:day AS text) IS NULL OR :day = ANY(o.days)
                    OR (o.commitment = 'flexible' AND cardinality(o.days) = 0))
               AND (CAST(:skill AS text) IS NULL OR :skill = ANY(o.skills))
             ORDER BY ST_Distance(o.geom_bng, ST_Transform(ST_SetSRID(
                      ST_MakePoint(:lon, :lat), 4326), 27700)), o.id
             LIMIT :limit"""), {"day": day, "skill": skill, "lon": lon, "lat": lat,
                                "limit": limit}).scalars().all()


def a_postcode(db) -> tuple[str, float, float]:
    with db.connect() as connection:
        return tuple(connection.execute(text(
            "SELECT postcode, ST_X(geom), ST_Y(geom) FROM postcodes "
            "WHERE postcode LIKE 'HD1 %' ORDER BY postcode LIMIT 1")).one())


def test_help_out_works_without_javascript_on_a_phone(browse, demo_data, db, screenshot):
    postcode, lon, lat = a_postcode(db)
    page = browse("/help-out", javascript=False, viewport=PHONE)
    expect(page.locator("#near-me")).to_be_hidden()
    page.fill("#postcode", postcode)
    page.select_option("#day", "TU")
    page.select_option("#skill", "listening")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-heading")).to_have_text(f"Nearest to {postcode}")
    expected = nearest(db, lon=lon, lat=lat, day="TU", skill="listening")
    assert expected and listed(page) == expected
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the finder is {width} px wide at 360 px"
    screenshot(page, "help-out-no-javascript-phone")
    page.locator("#results-list .result-name").first.click()
    expect(page.locator("#apply-heading")).to_have_text("How to say “I'm in”")
    with db.connect() as connection:
        apply_url = connection.execute(text(
            "SELECT apply_url FROM opportunities WHERE id = CAST(:id AS uuid)"),
            {"id": page.url.rsplit("/", 1)[1]}).scalar()
    expect(page.get_by_role("link", name="Apply online")).to_have_attribute("href", apply_url)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "opportunity-phone")
    page.watch.assert_quiet()


def test_help_out_near_me_uses_the_browsers_location(browse, demo_data, db, screenshot):
    _, lon, lat = a_postcode(db)
    page = browse("/help-out?commitment=regular", viewport=PHONE,
                  geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"])
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#results-heading")).to_have_text("Nearest to your location")
    assert "lon=" in page.url and "commitment=regular" in page.url
    with db.connect() as connection:
        regular = set(connection.execute(text(
            "SELECT id::text FROM published_opportunities WHERE commitment = 'regular'"
        )).scalars())
    # The browser sends five decimal places: order by the point it sent.
    sent_lon = round(lon, 5)
    sent_lat = round(lat, 5)
    expected = [i for i in nearest(db, lon=sent_lon, lat=sent_lat, limit=500)
                if i in regular][:50]
    assert listed(page) == expected
    # On a phone the results are where focus went, so the page scrolled to them.
    assert page.evaluate("document.activeElement.id") == "results-heading"
    assert page.evaluate("window.scrollY") > 0
    screenshot(page, "help-out-near-me-phone")
    page.watch.assert_quiet()


def test_help_out_near_me_from_outside_kirklees_says_so(browse, demo_data):
    page = browse("/help-out", geolocation={"latitude": 51.5074, "longitude": -0.1278},
                  permissions=["geolocation"])
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#help-notice")).to_contain_text("Your location is outside Kirklees")
    assert listed(page) == []
    page.watch.assert_quiet()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_ward_page_lists_its_ways_to_help_need_and_results(browse, demo_data, db,
                                                             map_ready, screenshot, javascript):
    with db.connect() as connection:
        ward, name = connection.execute(text(
            "SELECT o.ward_code, w.name FROM published_opportunities o JOIN areas w "
            "ON w.kind = 'ward' AND w.code = o.ward_code WHERE o.initiative_id = 'mentors' "
            "GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1")).one()
        titles = connection.execute(text(
            "SELECT count(*) FROM published_opportunities WHERE ward_code = :w"),
            {"w": ward}).scalar()
        without = connection.execute(text(
            "SELECT count(*) FROM published_places p WHERE p.ward_code = :w AND NOT EXISTS "
            "(SELECT 1 FROM published_opportunities o WHERE o.place_id = p.id)"),
            {"w": ward}).scalar()
        lsoas = connection.execute(text(
            "SELECT count(*) FROM published_lsoa_need WHERE ward_code = :w "
            "AND measure = 'everyone'"), {"w": ward}).scalar()
    page = browse(f"/wards/{ward}", javascript=javascript)
    if javascript:
        map_ready(page)
    expect(page.locator("#help-heading")).to_have_text(f"Ways to help in {name} ({titles})")
    assert page.locator("#ward-opportunities .result").count() == titles
    expect(page.locator("#without-heading")).to_contain_text(f"({without})")
    assert page.locator("#places-without li").count() == without
    assert page.locator("#need-everyone tbody tr").count() == lsoas
    scores = [int(s.replace(",", "")) for s in page.locator(
        "#need-mentors tbody td.value").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    expect(page.locator("#ward-outcomes")).to_contain_text("MENtors")
    page.locator("#help-heading").scroll_into_view_if_needed()
    screenshot(page, f"ward-im-in-{'js' if javascript else 'no-javascript'}")
    page.watch.assert_quiet()


def test_the_need_map_shades_every_lsoa_and_the_table_ranks_them(browse, demo_data, db,
                                                                 map_ready, screenshot):
    page = browse("/need?measure=out-and-about")
    assert map_ready(page) == 259
    ranks = [int(r) for r in page.locator("#need-table tbody tr td:first-child").all_inner_texts()]
    assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) == 25
    page.get_by_role("link", name="Show all 259 small areas").click()
    assert page.locator("#need-table tbody tr").count() == 259
    screenshot(page, "need-out-and-about")
    page.watch.assert_quiet()
