"""What a councillor met on the real district, each checked in Chromium: gaps named and
counted, neighbourhoods named for where they are and drawn without sliver holes, the
breadcrumb's ward, figures that agree, and a printed report worth handing out."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text

from mapping.display import long_date

pytestmark = pytest.mark.browser

BATLEY_EAST = "E05001390"
DALTON_NEIGHBOURHOOD = "PN-E01011038"


def _ward_of_most(db, code: str) -> str:
    """The ward holding most of the neighbourhood, by PostGIS on the grid."""
    with db.connect() as connection:
        return connection.execute(text("""
            SELECT w.name FROM areas n JOIN areas w ON w.kind = 'ward'
             WHERE n.kind = 'neighbourhood' AND n.code = :code
             ORDER BY ST_Area(ST_Intersection(w.geom_bng, n.geom_bng)) DESC LIMIT 1"""),
            {"code": code}).scalar()


def test_a_ward_page_names_its_gaps_and_centres_the_map_on_each(browse, demo_data, db, map_ready,
                                                                live_server, screenshot):
    page = browse(f"/wards/{BATLEY_EAST}")
    map_ready(page)
    profile = page.request.get(f"{live_server}/api/wards/{BATLEY_EAST}").json()
    rows = page.locator("#gap-table tbody tr")
    assert rows.count() == len(profile["gaps"]) > 0
    # The gaps leaving most residents beyond a 10-minute walk come first.
    shown = [int(re.sub(r"\D", "", rows.nth(i).locator("td").nth(2).inner_text().split("(")[0]))
             for i in range(rows.count())]
    assert shown == sorted(shown, reverse=True)
    by_kind = {gap["kind"]: gap for gap in profile["gaps"]}
    for index in range(rows.count()):
        row = rows.nth(index)
        gap = by_kind[row.get_attribute("id").removeprefix("gap-")]
        where = row.locator("td").first.inner_text()
        assert gap["lsoa_name"] in where and f"{gap['ward_name']} ward" in where, where
        assert gap["postcode"] and gap["postcode"] in where, where
        assert f"{gap['residents_beyond']:,}" in row.inner_text()
    assert "(at 53." not in page.inner_text("#gaps")  # no bare coordinates

    worst = rows.first
    kind = worst.get_attribute("id").removeprefix("gap-")
    worst.get_by_role("link", name=re.compile("Show on the map")).click()
    page.wait_for_selector(f"#map[data-centred-on='{kind}']")
    # Leaflet moves its panes on the next frame: wait for the marker to settle in the middle.
    page.wait_for_function("""kind => {
        const box = document.getElementById('map').getBoundingClientRect();
        const m = document.querySelector('.gap-marker-' + kind).getBoundingClientRect();
        return Math.abs(m.left + m.width / 2 - (box.left + box.width / 2)) <= 3
            && Math.abs(m.top + m.height / 2 - (box.top + box.height / 2)) <= 3;
    }""", arg=kind, timeout=3000)
    centre = page.evaluate("""kind => {
        const box = document.getElementById('map').getBoundingClientRect();
        const m = document.querySelector('.gap-marker-' + kind).getBoundingClientRect();
        return {dx: m.left + m.width / 2 - (box.left + box.width / 2),
                dy: m.top + m.height / 2 - (box.top + box.height / 2),
                inView: box.top >= 0 && box.bottom <= window.innerHeight + 1};
    }""", kind)
    assert abs(centre["dx"]) <= 3 and abs(centre["dy"]) <= 3, centre
    assert centre["inView"], centre
    assert "centred on the gap" in page.inner_text("#map-status")
    screenshot(page, "councillor-gap-centred")
    page.watch.assert_quiet()


def test_neighbourhoods_are_named_for_where_they_are_and_drawn_without_holes(
        browse, demo_data, db, map_ready, screenshot):
    page = browse(f"/wards/{BATLEY_EAST}")
    map_ready(page)
    names = page.locator("table.data-table").first.locator("tbody th").all_inner_texts()
    # Most of it is in Dewsbury West, a quarter in Batley East: both are in its name.
    assert "Dewsbury West and Batley East priority neighbourhood" in names, names
    text_shown = page.inner_text("main")
    assert "Part in this ward" in text_shown
    assert "the share of the neighbourhood's area that lies in Batley East" in text_shown
    # Each dashed outline Leaflet drew is as many rings as the neighbourhood has parts: no
    # sliver hole is drawn as a ring of its own.
    config = page.evaluate("AssetMap.config()")
    parts = sum(len(o["geometry"]["coordinates"]) if o["geometry"]["type"] == "MultiPolygon"
                else 1 for o in config["overlapping"])
    holes = sum(len(polygon) - 1 for o in config["overlapping"]
                for polygon in (o["geometry"]["coordinates"]
                                if o["geometry"]["type"] == "MultiPolygon"
                                else [o["geometry"]["coordinates"]]))
    drawn = page.evaluate("""() => [...document.querySelectorAll(
        '.leaflet-overlay-pane path[stroke-dasharray]')].map(p => (p.getAttribute('d')
        .match(/M/g) || []).length).reduce((a, b) => a + b, 0)""")
    assert holes == 0 and drawn == parts > 0, (holes, drawn, parts)
    with db.connect() as connection:
        assert connection.execute(text("""
            SELECT sum(ST_NumInteriorRings(part.geom)) FROM areas a,
                   ST_Dump(a.geom) part WHERE a.kind = 'neighbourhood'""")).scalar() == 0
    screenshot(page, "councillor-ward-neighbourhoods")
    page.watch.assert_quiet()


def test_a_neighbourhood_page_crumbs_to_the_ward_holding_most_of_it(browse, demo_data, db,
                                                                    map_ready):
    page = browse(f"/neighbourhoods/{DALTON_NEIGHBOURHOOD}")
    map_ready(page)
    crumbs = page.locator("nav.breadcrumbs li").all_inner_texts()
    biggest = _ward_of_most(db, DALTON_NEIGHBOURHOOD)
    assert crumbs[1] == biggest, crumbs
    heading = page.inner_text("h1")
    assert heading.startswith(biggest) and " and " in heading, heading
    # It lies in several wards, each with the share of the neighbourhood in it, largest first.
    wards = page.locator("main > p", has_text="is a priority neighbourhood").inner_text()
    shares = [int(n) for n in re.findall(r"\((\d+)%\)", wards)]
    assert len(shares) > 2 and shares == sorted(shares, reverse=True) and 95 <= sum(shares) <= 101
    page.watch.assert_quiet()


def test_a_ward_page_gives_one_residents_figure(browse, demo_data, db, map_ready, live_server):
    page = browse(f"/wards/{BATLEY_EAST}")
    map_ready(page)
    profile = page.request.get(f"{live_server}/api/wards/{BATLEY_EAST}").json()
    assert profile["residents"] != profile["population"]  # the two bases differ here
    stats = " ".join(page.inner_text("ul.stats").split())
    assert f"{profile['population']:,} residents" in stats
    coverage = " ".join(page.inner_text("#coverage-heading + p").split())
    assert f"{profile['population']:,} residents" in coverage
    assert f"{profile['residents']:,}" not in page.inner_text("main")
    page.watch.assert_quiet()


def test_the_wards_page_has_codes_and_one_colour_per_figure(browse, demo_data, db, map_ready,
                                                            screenshot):
    page = browse("/wards?measure=per_1000&kind=mutual_aid_group")
    map_ready(page)
    rows = page.locator("#wards-table tbody tr")
    seen = {}
    with db.connect() as connection:
        codes = dict(connection.execute(text(
            "SELECT name, code FROM areas WHERE kind = 'ward'")).all())
    for index in range(rows.count()):
        row = rows.nth(index)
        name = row.locator("th").inner_text()
        assert row.locator("td").first.inner_text() == codes[name]
        value = row.locator("td.value").inner_text()
        colour = row.locator("td.value .swatch").get_attribute("style")
        assert seen.setdefault(value, colour) == colour, (value, colour, seen[value])
    # Figures that read the same share a colour, and some do (so this could fail).
    assert len(seen) < rows.count()
    # The map shades each ward the colour of its row.
    fills = page.evaluate("""() => [...document.querySelectorAll(
        '.leaflet-overlay-pane path')].map(p => p.getAttribute('fill'))""")
    assert set(fills) <= {c.split(":")[1].strip() for c in seen.values()} | {"#b1b4b6"}
    screenshot(page, "councillor-wards-codes")
    page.watch.assert_quiet()


def test_the_printed_ward_report_says_when_and_which_data_and_draws_its_map(
        browse, demo_data, db, map_ready, live_server, screenshot):
    page = browse(f"/wards/{BATLEY_EAST}", basemap="blocked")
    map_ready(page)
    page.wait_for_timeout(500)  # the tile errors have come in
    page.emulate_media(media="print")
    meta = page.locator("#print-meta")
    assert meta.is_visible()
    with db.connect() as connection:
        version = connection.execute(text("SELECT version FROM published_version")).scalar()
    words = meta.inner_text()
    assert long_date(date.today()) in words and f"data version {version}" in words, words
    assert f"{live_server}/wards/{BATLEY_EAST}" in words
    # Every link to take away is written out in full.
    for link in page.locator(".area-actions a").all():
        after = page.evaluate("a => getComputedStyle(a, '::after').content", link.element_handle())
        assert after.startswith(f'" ({live_server}/'), after
    assert not page.locator("#map-status").is_visible()
    assert not page.locator(".leaflet-tile-pane").is_visible()
    outline = page.locator(".leaflet-overlay-pane path[stroke='#0b0c0c']")
    assert outline.count() == 1 and outline.is_visible()
    screenshot(page, "councillor-ward-printed")
    page.watch.assert_quiet(allow_tile_errors=True)
