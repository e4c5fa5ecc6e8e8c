"""The resident map with a national export: every UK (and world) mutual aid group kept
with --keep-outside, or only the district's with the default import. The first view is
Kirklees, and every place is on the map as a marker or inside a cluster."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mapping.cli import main
from tests.conftest import shared_data

pytestmark = pytest.mark.browser

WARDS = "kirklees/wards-2013.geojson"
MARCH = "mutual-aid/uk-groups-2020-03-27.json"

# Single markers plus the places inside the cluster icons the map has drawn, and how many
# of those icons lie inside the map's box on screen.
DRAWN = """() => {
    const box = document.getElementById('map').getBoundingClientRect();
    const icons = [...document.querySelectorAll('.leaflet-marker-pane .leaflet-marker-icon')];
    const inView = icons.filter(icon => {
        const r = icon.getBoundingClientRect();
        return r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
    });
    const markers = icons.filter(icon => icon.classList.contains('place-marker')).length;
    const clustered = icons.filter(icon => icon.classList.contains('place-cluster'))
        .reduce((sum, icon) => sum + parseInt(icon.textContent, 10), 0);
    return {icons: icons.length, markers, clustered, total: markers + clustered,
            in_view: inView.length};
}"""


def load(runner, *options):
    wards = runner.invoke(main, ["boundaries", "wards", str(shared_data(WARDS)),
                                 "--code-field", "WD13CD", "--name-field", "WD13NM"])
    assert wards.exit_code == 0, wards.output
    groups = runner.invoke(main, ["import", "mutual-aid", str(shared_data(MARCH)), *options])
    assert groups.exit_code == 0, groups.output


def drawn(page, places: int) -> dict:
    """What the map drew, once every one of `places` is in a marker or a cluster."""
    page.wait_for_function(f"() => ({DRAWN})().total === {places}", timeout=15_000)
    return page.evaluate(DRAWN)


def centre_in_kirklees(page) -> None:
    # The ward outlines are drawn and lie in the map's box: the view is of the district.
    outline = page.locator(".leaflet-overlay-pane path").first
    expect(outline).to_be_attached()
    box = page.locator("#map").bounding_box()
    wards = outline.bounding_box()
    assert box["x"] <= wards["x"] + wards["width"] / 2 <= box["x"] + box["width"]
    assert box["y"] <= wards["y"] + wards["height"] / 2 <= box["y"] + box["height"]


def test_every_uk_group_kept_is_drawn_and_the_first_view_is_kirklees(
        browse, runner, db, map_ready, screenshot):
    load(runner, "--keep-outside")
    page = browse("/")
    assert map_ready(page) == 2791
    seen = drawn(page, 2791)
    assert seen["icons"] > 0 and seen["in_view"] > 0
    assert seen["markers"] > 0 and seen["clustered"] > 0
    centre_in_kirklees(page)
    screenshot(page, "national-map-kept")
    page.watch.assert_quiet()


def test_a_search_across_the_world_keeps_the_map_on_the_district(browse, runner, db,
                                                                 map_ready):
    load(runner, "--keep-outside")
    page = browse("/")
    map_ready(page)
    page.fill("#q", "mutual aid")
    page.wait_for_function("() => { const map = document.getElementById('map');"
                           " return map.dataset.shown !== '2791' && map.dataset.ready === 'true'; }")
    shown = int(page.get_attribute("#map", "data-shown"))
    assert 100 < shown < 2791
    seen = drawn(page, shown)
    assert seen["in_view"] > 0
    centre_in_kirklees(page)
    page.watch.assert_quiet()


def test_the_default_import_draws_the_district_groups_all_in_view(
        browse, runner, db, map_ready, screenshot):
    load(runner)
    page = browse("/")
    assert map_ready(page) == 27
    seen = drawn(page, 27)
    assert seen["in_view"] == seen["icons"] > 0
    centre_in_kirklees(page)
    screenshot(page, "national-map-default")
    page.watch.assert_quiet()
