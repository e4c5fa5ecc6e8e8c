"""The editors' and administrators' pages in a real browser: the navigation bar naming
who is signed in, axe on every page, and a whole import from the form: a dry run, the
good rows imported from the kept file without choosing it again, and the run undone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from mapping.staff import accounts
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
# Two libraries in Kirklees and a row off the Earth.
LIBRARIES = ("id,name,latitude,longitude\nB1,Golcar Library,53.6405,-1.8512\n"
             "B2,Marsden Library,53.6003,-1.9301\nB3,Nowhere,153.0,-1.85\n")


def add_user(db, email: str, role: str, name: str) -> None:
    with db.begin() as connection:
        accounts.add_user(connection, email, PASSWORD, role, name)


def sign_in(page, email: str) -> None:
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".staff-user")).to_be_visible()


def assert_axe_passes(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"]
           if v["impact"] in ("serious", "critical", "moderate")]
    assert not bad, f"{page.url}: {results.generate_report()}"


def test_every_editor_and_admin_page_passes_axe_and_names_who_is_signed_in(
        browse, live_server, demo_data, db, screenshot, tmp_path):
    from importers.base import Options
    from importers.places import import_places

    add_user(db, "ada@kirklees.example", "admin", "Ada Lovelace")
    add_user(db, "ed@kirklees.example", "editor", "Ed Itor")
    path = tmp_path / "libraries.csv"
    path.write_text(LIBRARIES)
    run_id = import_places(db, "assets", path, Options(source="libraries",
                                                       skip_invalid=True)).run_id
    with db.connect() as connection:
        place, service = connection.execute(text(
            "SELECT place_id, id FROM services WHERE place_id IS NOT NULL AND deleted_at IS NULL "
            "ORDER BY place_id LIMIT 1")).one()
        opportunity = connection.execute(text(
            "SELECT id FROM opportunities WHERE place_id IS NOT NULL ORDER BY id LIMIT 1")).scalar()
    page = browse("/login")
    assert_axe_passes(page)
    sign_in(page, "ada@kirklees.example")

    bar = page.locator(".staff-bar")
    expect(bar.locator(".staff-user")).to_have_text(re.compile(
        r"Signed in as Ada Lovelace \(admin\)\s*Sign out"))
    expect(bar.get_by_role("link", name="Listings to check")).to_have_attribute(
        "aria-current", "page")
    assert bar.locator(".staff-nav ul").evaluate(
        "ul => [getComputedStyle(ul).display, getComputedStyle(ul).listStyleType]"
    ) == ["flex", "none"]
    sign_out = bar.get_by_role("button", name="Sign out")
    style = sign_out.evaluate("b => [getComputedStyle(b).backgroundColor, b.offsetHeight]")
    assert style[0] == "rgb(255, 255, 255)" and style[1] <= 40, style  # not a big green button
    screenshot(page, "editor-dashboard")
    assert_axe_passes(page)

    for path in ("/edit/places/new", f"/edit/places/{place}", f"/edit/services/{service}",
                 f"/edit/places/{place}/services/new", f"/edit/opportunities/{opportunity}",
                 f"/edit/places/{place}/opportunities/new", "/edit/outcomes",
                 "/edit/outcomes/new", "/edit/import", f"/edit/imports/{run_id}",
                 "/admin/audit", "/admin/users"):
        page.goto(live_server + path)
        expect(page.locator("h1")).to_be_visible()
        expect(page.locator(".staff-user")).to_contain_text("Signed in as Ada Lovelace (admin)")
        assert_axe_passes(page)
        if path == f"/edit/imports/{run_id}":
            expect(page.locator("h1")).to_have_text(f"Import run {run_id}: libraries.csv")
            screenshot(page, "editor-import-run")
        if path == "/admin/users":
            screenshot(page, "admin-users")
        if path == f"/edit/places/{place}":
            screenshot(page, "editor-place")
    page.get_by_label("Token name for ed@kirklees.example").fill("nightly import")
    page.get_by_role("button", name="New API token for ed@kirklees.example").click()
    expect(page.locator("h1")).to_have_text("New API token: nightly import")
    assert_axe_passes(page)
    page.watch.assert_quiet()


def test_an_editor_checks_a_file_imports_its_good_rows_and_undoes_it(
        browse, demo_data, db, screenshot, tmp_path):
    add_user(db, "ed@kirklees.example", "editor", "Ed Itor")
    page = browse("/login", viewport=PHONE)
    sign_in(page, "ed@kirklees.example")
    page.get_by_role("link", name="Import a file").click()
    page.select_option("#kind", "assets")
    page.fill("#source", "browser libraries")
    path = tmp_path / "libraries.csv"
    path.write_text(LIBRARIES)
    page.set_input_files("#file", str(path))
    expect(page.locator("#dry_run")).to_be_checked()
    page.get_by_role("button", name="Check and import").click()

    report = page.locator(".import-report")
    expect(report.locator("h2")).to_have_text("Dry run: nothing was written")
    expect(report).to_contain_text("1 row has problems: as the file stands nothing would be "
                                   "written")
    expect(report.locator("h3")).to_have_text("If you import just the 2 good rows")
    expect(report.locator(".import-counts li").first).to_have_text("2 would be inserted")
    assert not re.search(r"--[a-z]", report.inner_text()), report.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the import page is {width} px wide at 360 px"
    assert_axe_passes(page)
    screenshot(page, "editor-import-dry-run-phone")

    # The file is kept: the good rows go in without choosing it again.
    page.get_by_role("button", name="Import the 2 good rows").click()
    expect(report.locator("h2")).to_have_text("Imported")
    with db.connect() as connection:
        names = connection.execute(text(
            "SELECT name FROM places WHERE source = 'browser libraries' ORDER BY name"
        )).scalars().all()
    assert names == ["Golcar Library", "Marsden Library"]

    page.get_by_role("link", name=re.compile("This run's page")).click()
    expect(page.locator("h1")).to_have_text(re.compile(r"Import run \d+: libraries\.csv"))
    page.get_by_role("button", name="Undo this import").click()
    expect(page.locator(".notice")).to_contain_text("2 places it added were removed")
    expect(page.locator("#undo-heading + p")).to_contain_text("cannot be undone: it was undone")
    with db.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM places WHERE source = 'browser libraries'")).scalar() == 0
    assert_axe_passes(page)
    screenshot(page, "editor-import-undone")
    page.watch.assert_quiet()
