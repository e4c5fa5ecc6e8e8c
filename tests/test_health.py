"""/healthz, /livez and /readyz, and what every endpoint answers when things go wrong."""
from mapping import create_app
from mapping.core import db
from tests.conftest import free_port


def test_healthz_reports_postgis_and_migration(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["postgis"].startswith("3.")
    assert body["migration"] == body["migration_head"]
    assert body["migration_head"] == db.head_revision()
    assert client.get("/readyz").status_code == 200


def test_healthz_is_503_json_when_the_database_is_unreachable():
    port = free_port()  # nothing listens here
    app = create_app({"database_url": f"postgresql+psycopg2://nobody@127.0.0.1:{port}/none"})
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 503
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 503
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert b"Traceback" not in page.data and b"psycopg2" not in page.data
    assert b"try again" in page.data


def test_unknown_api_path_is_problem_json_and_unknown_page_is_html(client):
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["title"] == "Not Found"
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert b'lang="en-GB"' in page.data


def test_an_unexpected_error_shows_no_stack_trace(app):
    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert b"secret internals" not in response.data
    assert response.get_json()["status"] == 500


def test_place_pages_are_served_from_the_database(client, demo_data):
    index = client.get("/")
    assert index.status_code == 200
    assert b"Demo places." in index.data
    assert b"Huddersfield town centre" in client.get("/?q=Huddersfield+town+centre").data
    assert client.get("/places/1").status_code == 200
    assert client.get("/places/999999").status_code == 404
