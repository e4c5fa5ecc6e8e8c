"""The finder's service filters in a real browser, with JavaScript on and off: open now or
on a day, for an age, in a language, and the groups whose area covers the postcode
searched from, however far away they are based. The truths are SQL on the services and
the schedule parser run here on each service's own opening-hours text."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from importers import schedules
from tests.browser.test_maps import PHONE, listed_ids

pytestmark = pytest.mark.browser


def in_week(rule, on: dt.date | None) -> bool:
    """A weekly rule, or a monthly one in its week of the month (1TH: the first Thursday)."""
    if rule.freq == "WEEKLY" or on is None:
        return True
    last_day = ((on.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                - dt.timedelta(days=1)).day
    weeks = {int(d[:-2]) for d in rule.byday}
    return (on.day + 6) // 7 in weeks or (-1 in weeks and on.day + 7 > last_day)


def places_with(db, *, age=None, language=None, day=None, at=None, on=None) -> set[int]:
    """Places with one service meeting every condition, from the services' own fields and
    texts (the parser, not the SQL the app builds)."""
    with db.connect() as connection:
        rows = connection.execute(text(
            "SELECT place_id, minimum_age, maximum_age, languages, schedule_text "
            "FROM published_services WHERE place_id IS NOT NULL")).all()
    found = set()
    for place_id, low, high, languages, schedule in rows:
        if age is not None and not ((low or 0) <= age <= (high if high is not None else 200)):
            continue
        if language and language not in languages:
            continue
        if day and not any(r.covers(day, at) and in_week(r, on)
                           for r in schedules.parse(schedule).rules):
            continue
        found.add(place_id)
    return found


def wait_listed(page, count: int):
    expect(page.locator("#map")).to_have_attribute("data-shown", str(count))


def all_listed(page) -> set[int]:
    """Every place the list holds, showing the rest page by page ("Show 50 more")."""
    more = page.locator("#results-more button", has_text="more")
    while more.count():
        more.click()
    return set(listed_ids(page))


def test_language_and_age_narrow_the_map_and_the_list_together(browse, demo_data, db,
                                                               map_ready, screenshot):
    page = browse("/")
    map_ready(page)
    urdu = places_with(db, language="ur")
    page.select_option("#language", "ur")
    wait_listed(page, len(urdu))
    assert all_listed(page) == urdu
    assert "language=ur" in page.url
    both = places_with(db, language="ur", age=70)
    assert 0 < len(both) < len(urdu)
    page.fill("#age", "70")
    wait_listed(page, len(both))
    assert all_listed(page) == both
    screenshot(page, "finder-language-and-age")
    page.fill("#age", "seventy")
    expect(page.locator("#error-summary a[href='#age']")).to_be_visible()
    wait_listed(page, len(urdu))
    page.watch.assert_quiet()


def test_open_on_a_day_and_open_now(browse, demo_data, db, map_ready):
    page = browse("/")
    map_ready(page)
    saturday = places_with(db, day="SA")
    page.select_option("#open", "SA")
    wait_listed(page, len(saturday))
    assert all_listed(page) == saturday
    page.select_option("#open", "now")
    page.wait_for_function("() => !document.querySelector('#results-summary').textContent"
                           ".startsWith('Finding')")
    page.wait_for_timeout(300)
    now = dt.datetime.now(ZoneInfo("Europe/London"))
    # Monthly sessions count only in their week; weekly ones on their day and hours.
    truths = [places_with(db, day=("MO", "TU", "WE", "TH", "FR", "SA", "SU")[t.weekday()],
                          at=t.time().replace(second=0, microsecond=0), on=t.date())
              for t in (now - dt.timedelta(minutes=1), now)]
    assert int(page.get_attribute("#map", "data-shown")) in {len(t) for t in truths}
    assert "open=now" in page.url
    page.watch.assert_quiet()


def far_covering_postcode(db) -> tuple[str, int]:
    """A postcode inside a group's area whose published point is not among the 20 places
    nearest the postcode, and that group."""
    with db.connect() as connection:
        return tuple(connection.execute(text("""
            SELECT pc.postcode, p.id
              FROM published_service_areas a
              JOIN published_services s ON s.id = a.service_id
              JOIN published_places p ON p.id = s.place_id
              JOIN LATERAL (SELECT * FROM postcodes pc WHERE ST_Intersects(a.geom, pc.geom)
                             ORDER BY pc.postcode LIMIT 1) pc ON true
             WHERE p.id NOT IN (SELECT q.id FROM published_places q
                                 ORDER BY q.geom_bng <-> pc.geom_bng LIMIT 20)
             ORDER BY pc.postcode LIMIT 1""")).one())


@pytest.mark.parametrize("javascript", [True, False])
def test_a_group_that_serves_the_postcode_is_listed_however_far(browse, demo_data, db,
                                                                 map_ready, screenshot,
                                                                 javascript):
    postcode, group = far_covering_postcode(db)
    page = browse("/", viewport=PHONE, javascript=javascript)
    if javascript:
        map_ready(page)
    page.fill("#postcode", postcode)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#covering-heading")).to_have_text(f"Groups that serve {postcode}")
    expect(page.locator("#covering")).to_be_visible()
    covering = [int(i) for i in page.locator("#covering-list .result").evaluate_all(
        "items => items.map(item => item.dataset.id)")]
    assert group in covering
    assert group not in listed_ids(page)
    expect(page.locator(f"#covering-list .result[data-id='{group}'] .result-covers")) \
        .to_have_text(f"Serves {postcode}")
    screenshot(page, f"finder-covering-{'js' if javascript else 'no-js'}")
    page.watch.assert_quiet()


def test_the_service_filters_work_without_javascript(browse, demo_data, db, screenshot):
    page = browse("/", javascript=False)
    page.select_option("#language", "pa")
    page.fill("#age", "65")
    page.get_by_role("button", name="Search").click()
    expected = places_with(db, language="pa", age=65)
    assert 0 < len(expected) <= 50
    expect(page.locator("#results-heading")).to_have_text("Places matching your search")
    assert set(listed_ids(page)) == expected
    expect(page.locator("#results-summary")).to_contain_text(f"of {len(expected)} places")
    screenshot(page, "finder-services-no-javascript")
    page.fill("#age", "200")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#error-summary a[href='#age']")).to_have_text(
        "Enter an age in whole years, from 0 to 130, or leave it empty")
    expect(page.locator("#age")).to_have_attribute("aria-invalid", "true")
    page.select_option("#open", "TU")
    page.fill("#age", "")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**open=TU**")
    expect(page.locator("#error-summary")).to_have_count(0)
    tuesday = places_with(db, language="pa", day="TU")
    assert set(listed_ids(page)) == tuesday
    page.watch.assert_quiet()
