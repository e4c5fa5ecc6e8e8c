"""Every page a browser can open, on the demo data, loaded once each: nothing it asks for
fails (no 404 for a favicon or a script), nothing goes to the console, and axe finds no
critical, serious or moderate problem. The pages come from the app's own URL map, so a
new page is swept without being listed here; a page whose address needs an id takes one
example from EXAMPLES, and a test fails when one has none. The editors' and
administrators' pages are opened signed in as an administrator."""
from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from sqlalchemy import text

from mapping import create_app
from mapping.staff import accounts

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
ADMIN = "sweep@kirklees.example"
BAD_IMPACTS = ("critical", "serious", "moderate")

# Addresses that are data, not pages: feeds, APIs, files, health checks.
NOT_PAGES = re.compile(r"\.(json|geojson|jsonld|csv|mvt|ico)$|^/(api|openreferral|tiles|static|vendor)/"
                       r"|^/(healthz|livez|readyz)$")
# A page whose address takes an id, and the SQL that finds one in the demo data (each
# column fills the argument of that name; `query`, when there is one, is the query string).
EXAMPLES = {
    "/places/<int:place_id>": "SELECT min(id) AS place_id FROM published_places",
    "/places/<int:place_id>/report": "SELECT min(id) AS place_id FROM published_places",
    "/wards/<code>": "SELECT min(code) AS code FROM areas WHERE kind = 'ward'",
    "/wards/<code>/map.html": "SELECT min(code) AS code FROM areas WHERE kind = 'ward'",
    "/neighbourhoods/<code>": "SELECT min(code) AS code FROM areas WHERE kind = 'neighbourhood'",
    "/neighbourhoods/<code>/map.html":
        "SELECT min(code) AS code FROM areas WHERE kind = 'neighbourhood'",
    "/help-out/<uuid:opportunity_id>":
        "SELECT id AS opportunity_id FROM published_opportunities ORDER BY id LIMIT 1",
    "/initiatives/<initiative_id>": "SELECT min(id) AS initiative_id FROM initiatives",
    "/ogc/collections/<collection_id>": "SELECT 'places' AS collection_id",
    # Ten items: the page is the same, and axe takes 20 s over the default hundred.
    "/ogc/collections/<collection_id>/items":
        "SELECT 'places' AS collection_id, 'limit=10' AS query",
    "/ogc/collections/<collection_id>/queryables": "SELECT 'places' AS collection_id",
    "/ogc/collections/<collection_id>/items/<feature_id>":
        "SELECT 'places' AS collection_id, min(id) AS feature_id FROM published_places",
    "/edit/places/<int:place_id>": "SELECT min(id) AS place_id FROM published_places",
    "/edit/places/<int:place_id>/services/new": "SELECT min(id) AS place_id FROM published_places",
    "/edit/places/<int:place_id>/opportunities/new":
        "SELECT min(id) AS place_id FROM published_places",
    "/edit/services/<uuid:service_id>":
        "SELECT id AS service_id FROM services WHERE deleted_at IS NULL ORDER BY id LIMIT 1",
    "/edit/opportunities/<uuid:opportunity_id>":
        "SELECT id AS opportunity_id FROM opportunities ORDER BY id LIMIT 1",
    "/edit/outcomes/<int:outcome_id>": "SELECT min(id) AS outcome_id FROM outcomes",
    "/edit/imports/<int:run_id>": "SELECT max(id) AS run_id FROM import_runs",
}
def page_rules() -> list[str]:
    """The app's GET addresses that are pages, from its URL map."""
    app = create_app({"database_url": "postgresql://unused@127.0.0.1:1/unused", "TESTING": True})
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not NOT_PAGES.search(rule.rule)})


RULES = page_rules()


def signed_in(rule: str) -> bool:
    return rule.startswith(("/edit", "/admin"))


def address(db, rule: str) -> str:
    """The rule with its arguments filled from the demo data."""
    if "<" not in rule:
        return rule
    with db.connect() as connection:
        values = connection.execute(text(EXAMPLES[rule])).mappings().one()
    assert all(v is not None for v in values.values()), f"no example for {rule} in the demo data"
    path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule)
    return path + (f"?{values['query']}" if "query" in values else "")


def session_cookies(app, client, live_server) -> list[dict]:
    """An administrator signed in through the app, as cookies for the browser."""
    with app.app_context():
        engine = app.extensions["assetmap.engine"]
        with engine.begin() as connection:
            accounts.add_user(connection, ADMIN, PASSWORD, "admin", "Sweep")
    login = client.get("/login").data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', login).group(1).decode()
    answer = client.post("/login", data={"email": ADMIN, "password": PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code in (302, 303), answer.status_code
    name = app.config["SESSION_COOKIE_NAME"]
    return [{"name": name, "value": client.get_cookie(name).value, "url": live_server}]


def test_every_page_with_an_id_has_an_example():
    assert {rule for rule in RULES if "<" in rule} == set(EXAMPLES)


@pytest.mark.parametrize("rule", RULES)
def test_the_page_loads_quietly_and_passes_axe(rule, browse, demo_data, db, app, client,
                                              live_server, map_ready):
    from axe_playwright_python.sync_playwright import Axe

    path = address(db, rule)
    options = {}
    if signed_in(rule):
        options["storage_state"] = {"cookies": session_cookies(app, client, live_server),
                                    "origins": []}
    # The favicon first (a few bytes, no page), so the listener hears the page's every request.
    page = browse("/static/favicon.svg", **options)
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(
        (response.status, response.url)))
    response = page.goto(live_server + path)
    assert response.status == 200, f"{path}: {response.status}"
    if page.locator("#map").count():
        map_ready(page)
    assert page.url.endswith(path), f"{path} went to {page.url}"
    problems = [f"{status} {url}" for status, url in failed]
    if response.headers["content-type"].startswith("text/html"):
        # The icon it links to, or the one a browser asks for when it links none (which
        # the app does not serve: that page would log a 404 in a real browser).
        icon = page.evaluate("() => (document.querySelector('link[rel=\"icon\"]') || "
                             "{href: '/favicon.ico'}).href")
        favicon = page.request.get(urljoin(page.url, icon))
        if favicon.status != 200 or not favicon.headers["content-type"].startswith("image/svg"):
            problems.append(f"icon {favicon.status} {icon}")
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    problems += [f"axe {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
                 for v in results.response["violations"] if v["impact"] in BAD_IMPACTS]
    assert not problems, f"{path}: {problems}"
    page.watch.assert_quiet()


def test_the_favicon_every_page_links_to_is_served(client):
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
