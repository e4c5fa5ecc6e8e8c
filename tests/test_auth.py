"""Who may change what: sign-in, roles, CSRF, API tokens, the audit trail, residents'
reports, and a matrix over every write endpoint the app has."""
import re

import pytest
from sqlalchemy import text

from mapping import create_app
from mapping.cli import main
from mapping.staff import accounts

PASSWORD = "correct horse battery staple"


def add_users(connection) -> dict:
    """An editor, an admin and two places, one last checked in 2020."""
    editor = accounts.add_user(connection, "Editor@Kirklees.example", PASSWORD, "editor")
    admin = accounts.add_user(connection, "admin@kirklees.example", PASSWORD, "admin", "Ada")
    place = connection.execute(text(
        "INSERT INTO places (kind, source, source_id, name, geom, last_verified) VALUES "
        "('community_asset', 'test', '1', 'Golcar Library', "
        "ST_SetSRID(ST_MakePoint(-1.85, 53.64), 4326), '2020-01-01') RETURNING id")).scalar()
    connection.execute(text(
        "INSERT INTO places (kind, source, source_id, name, geom, last_verified) VALUES "
        "('hub', 'test', '2', 'Fresh Hub', ST_SetSRID(ST_MakePoint(-1.78, 53.64), 4326), "
        "current_date)"))
    return {"editor": editor, "admin": admin, "place": place}


@pytest.fixture
def users(db):
    """`add_users`, committed, for the app to sign them in."""
    with db.begin() as connection:
        return add_users(connection)


def csrf_from(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def sign_in(client, email, password=PASSWORD):
    token = csrf_from(client.get("/login").data)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def post_form(client, url, data=None, page="/edit"):
    token = csrf_from(client.get(page).data)
    return client.post(url, data={**(data or {}), "csrf_token": token})


def test_passwords_are_stored_only_as_argon2_hashes(connection):
    add_users(connection)
    stored = connection.execute(text("SELECT password_hash FROM users")).scalars().all()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in stored)


def test_short_passwords_and_unknown_roles_are_refused(connection):
    with pytest.raises(accounts.AccountError, match="12 characters"):
        accounts.add_user(connection, "a@b.example", "short", "editor")
    with pytest.raises(accounts.AccountError, match="role"):
        accounts.add_user(connection, "a@b.example", PASSWORD, "superuser")


def test_sign_in_with_the_right_password_opens_the_editors_pages(client, users):
    assert client.get("/edit").status_code == 302  # to the sign-in page
    response = sign_in(client, "editor@kirklees.example")
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    page = client.get("/edit")
    assert page.status_code == 200
    assert b"Golcar Library" in page.data  # stale: checked in 2020
    assert page.headers["Cache-Control"] == "private, no-store"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, users):
    wrong = sign_in(client, "editor@kirklees.example", "not the password at all")
    unknown = sign_in(client, "nobody@kirklees.example")
    assert wrong.status_code == unknown.status_code == 401
    assert b"is not right" in wrong.data and b"is not right" in unknown.data
    assert client.get("/edit").status_code == 302


def test_a_deactivated_user_cannot_sign_in(client, users, db):
    with db.begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE role = 'editor'"))
    assert sign_in(client, "editor@kirklees.example").status_code == 401


def test_session_cookie_is_http_only_and_same_site(database_url, users):
    app = create_app({"database_url": database_url, "secure_cookies": True})
    client = app.test_client()
    response = sign_in(client, "editor@kirklees.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_sign_in_never_redirects_to_another_site(client, users):
    token = csrf_from(client.get("/login").data)
    response = client.post("/login?next=//evil.example/x", data={
        "email": "editor@kirklees.example", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/edit"


def test_a_form_without_its_csrf_token_is_refused(client, users, db):
    sign_in(client, "editor@kirklees.example")
    response = client.post(f"/edit/places/{users['place']}/hide")
    assert response.status_code == 400
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places WHERE deleted_at IS NOT NULL")
                                  ).scalar() == 0


def test_editing_a_place_is_audited_with_before_and_after(client, users, db):
    sign_in(client, "editor@kirklees.example")
    place = users["place"]
    page = client.get(f"/edit/places/{place}")
    response = client.post(f"/edit/places/{place}", data={
        "csrf_token": csrf_from(page.data), "name": "Golcar Community Library",
        "location_precision": "exact", "phone": "01484 000000", "verified": "on"})
    assert response.status_code == 302
    with db.connect() as connection:
        row = connection.execute(text(
            "SELECT name, phone, phone_public, last_verified = current_date FROM places WHERE id = :id"),
            {"id": place}).one()
        entry = connection.execute(text(
            "SELECT actor, action, before->>'name', after->>'name' FROM audit_log")).one()
    assert row == ("Golcar Community Library", "01484 000000", False, True)
    assert entry == ("editor@kirklees.example", "update", "Golcar Library",
                     "Golcar Community Library")


def test_a_bad_edit_names_the_field_and_changes_nothing(client, users, db):
    sign_in(client, "editor@kirklees.example")
    place = users["place"]
    page = client.get(f"/edit/places/{place}")
    response = client.post(f"/edit/places/{place}", data={
        "csrf_token": csrf_from(page.data), "name": "", "location_precision": "exact",
        "website": "javascript:alert(1)"})
    assert response.status_code == 400
    assert b"name: a place needs a name" in response.data
    assert b"website: must start with https://" in response.data
    with db.connect() as connection:
        assert connection.execute(text("SELECT name FROM places WHERE id = :id"),
                                  {"id": place}).scalar() == "Golcar Library"
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_hiding_a_place_takes_it_off_the_public_pages_and_showing_brings_it_back(client, users):
    place = users["place"]
    assert client.get(f"/places/{place}").status_code == 200
    sign_in(client, "editor@kirklees.example")
    post_form(client, f"/edit/places/{place}/hide")
    assert client.get(f"/places/{place}").status_code == 404
    assert b"Golcar Library" not in client.get("/").data
    post_form(client, f"/edit/places/{place}/show")
    assert client.get(f"/places/{place}").status_code == 200


def test_an_editor_adds_a_place_that_lands_in_its_ward(client, users, db):
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO areas (kind, code, name, geom) VALUES ('ward', 'W1', 'Golcar', "
            "ST_Multi(ST_MakeEnvelope(-1.9, 53.6, -1.8, 53.7, 4326)))"))
    sign_in(client, "editor@kirklees.example")
    response = post_form(client, "/edit/places/new", {
        "kind": "hub", "name": "New Hub", "lat": "53.65", "lon": "-1.85",
        "location_precision": "exact"})
    assert response.status_code == 302
    with db.connect() as connection:
        assert connection.execute(text(
            "SELECT ward_code FROM places WHERE name = 'New Hub'")).scalar() == "W1"
        assert connection.execute(text("SELECT count(*) FROM hubs")).scalar() == 1


def test_an_editor_cannot_manage_users(client, users):
    sign_in(client, "editor@kirklees.example")
    assert client.get("/admin/users").status_code == 403
    assert post_form(client, "/admin/users", {"email": "x@y.example", "password": PASSWORD,
                                               "role": "admin"}).status_code == 403


def test_api_tokens_are_hashed_at_rest_work_and_can_be_revoked(client, users, db):
    sign_in(client, "admin@kirklees.example")
    page = client.get("/admin/users")
    response = client.post(f"/admin/users/{users['editor'].id}/tokens",
                           data={"csrf_token": csrf_from(page.data), "name": "nightly import"})
    assert response.status_code == 201
    token = re.search(rb"(am_[A-Za-z0-9_-]+)", response.data).group(1).decode()
    with db.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalar()
        token_id = connection.execute(text("SELECT id FROM api_tokens")).scalar()
    assert token not in stored and len(stored) == 64

    with db.connect() as connection:
        assert accounts.user_for_token(connection, token).email == "editor@kirklees.example"
        assert accounts.user_for_token(connection, token + "x") is None
    post_form(client, f"/admin/tokens/{token_id}/revoke", page="/admin/users")
    with db.connect() as connection:
        assert accounts.user_for_token(connection, token) is None


def test_residents_report_a_problem_and_editors_see_it_first(client, users, db):
    place = users["place"]
    page = client.get(f"/places/{place}/report")
    response = client.post(f"/places/{place}/report", data={
        "csrf_token": csrf_from(page.data), "reason": "closed", "details": "Shut since May"})
    assert response.status_code == 201
    sign_in(client, "editor@kirklees.example")
    dashboard = client.get("/edit").data.decode()
    assert dashboard.index("Shut since May") < dashboard.index("Not checked since")


def test_reports_are_rate_limited(database_url, users):
    app = create_app({"database_url": database_url, "rate_limit_reports": "2 per hour"})
    client = app.test_client()
    place = users["place"]
    statuses = []
    for _ in range(3):
        token = csrf_from(client.get(f"/places/{place}/report").data)
        statuses.append(client.post(f"/places/{place}/report", data={
            "csrf_token": token, "reason": "other"}).status_code)
    assert statuses == [201, 201, 429]


def test_cli_adds_a_user_who_can_sign_in(runner, client, db):
    result = runner.invoke(main, ["users", "add", "officer@kirklees.example", "--role", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert sign_in(client, "officer@kirklees.example").status_code == 302
    token = runner.invoke(main, ["users", "token", "officer@kirklees.example"]).output.strip()
    assert token.startswith("am_")


# Every write endpoint × who is asking → the status they get. A new write route that is
# not in this table fails test_every_write_route_is_in_the_matrix.
MATRIX = {
    # endpoint: (anonymous, editor, admin, admin without CSRF token)
    "auth.login": (401, 302, 302, 400),
    "auth.logout": (302, 302, 302, 400),
    "reports.report": (201, 201, 201, 400),
    "editors.edit_place": (302, 302, 302, 400),
    "editors.hide_place": (302, 302, 302, 400),
    "editors.show_place": (302, 302, 302, 400),
    "editors.new_place": (302, 302, 302, 400),
    "editors.resolve_report": (302, 302, 302, 400),
    "editors.new_service": (302, 302, 302, 400),
    "editors.edit_service": (302, 302, 302, 400),
    "editors.remove_service": (302, 302, 302, 400),
    "editors.restore_service": (302, 302, 302, 400),
    "impact_editors.new_opportunity": (302, 302, 302, 400),
    "impact_editors.edit_opportunity": (302, 302, 302, 400),
    "impact_editors.remove_opportunity": (302, 302, 302, 400),
    "impact_editors.restore_opportunity": (302, 302, 302, 400),
    "impact_editors.new_outcome": (302, 302, 302, 400),
    "impact_editors.edit_outcome": (302, 302, 302, 400),
    "impact_editors.remove_outcome": (302, 302, 302, 400),
    "impact_editors.restore_outcome": (302, 302, 302, 400),
    "admin.add_user": (302, 403, 303, 400),
    "admin.change_user": (302, 403, 303, 400),
    "admin.create_token": (302, 403, 201, 400),
    "admin.revoke_token": (302, 403, 303, 400),
    # Signed in but no file chosen: 400 naming the field.
    "uploads.upload_form": (302, 400, 400, 400),
    "uploads.upload_api": (401, 400, 400, 400),
    # No such run: 404.
    "uploads.undo_run": (302, 404, 404, 400),
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_write_route_is_in_the_matrix(app):
    writes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & WRITE_METHODS}
    assert writes == set(MATRIX)


def _arguments(endpoint, ids):
    return {"place_id": ids["place"], "report_id": ids["report"], "user_id": ids["user"],
            "token_id": ids["token"], "service_id": ids["service"],
            "opportunity_id": ids["opportunity"], "outcome_id": ids["outcome"],
            "run_id": 0}


def _form(endpoint, ids):
    return {
        "auth.login": {"email": "admin@kirklees.example", "password": PASSWORD},
        "reports.report": {"reason": "other"},
        "editors.edit_place": {"name": "Renamed", "location_precision": "exact"},
        "editors.new_service": {"name": "Matrix service", "area": "wards"},
        "impact_editors.new_opportunity": {"title": "Matrix role",
                                           "apply_url": "https://example.org/m"},
        "impact_editors.edit_opportunity": {"title": "Renamed role",
                                            "apply_url": "https://example.org/m"},
        "impact_editors.new_outcome": {"initiative": "mentors", "period_start": "2026-01-01",
                                       "period_end": "2026-03-31", "level": "district",
                                       "sessions_held": ids["n"]},
        "impact_editors.edit_outcome": {"initiative": "mentors", "period_start": "2025-01-01",
                                        "period_end": "2025-03-31", "level": "district",
                                        "sessions_held": ids["n"]},
        "editors.edit_service": {"name": "Renamed service", "area": "wards"},
        "editors.new_place": {"kind": "hub", "name": "Matrix Hub", "lat": "53.6",
                              "lon": "-1.8", "location_precision": "exact"},
        "admin.add_user": {"email": f"new{ids['n']}@kirklees.example", "password": PASSWORD,
                           "role": "editor"},
        "admin.change_user": {"role": "editor"},
        "admin.create_token": {"name": "t"},
        "uploads.upload_form": {"kind": "assets"},
        "uploads.upload_api": {"kind": "assets"},
    }.get(endpoint, {})


@pytest.mark.parametrize("who", ["anonymous", "editor", "admin", "admin without CSRF token"])
def test_authorisation_matrix(database_url, users, db, who):
    from flask import url_for

    # Signing in once per endpoint would trip the sign-in rate limit.
    app = create_app({"database_url": database_url, "rate_limit_login": "1000 per minute"})

    column = ["anonymous", "editor", "admin", "admin without CSRF token"].index(who)
    for number, (endpoint, expected) in enumerate(sorted(MATRIX.items())):
        with db.begin() as connection:
            connection.execute(text("UPDATE places SET deleted_at = NULL"))  # after a hide
            other = accounts.add_user(connection, f"other{number}{column}@kirklees.example",
                                      PASSWORD, "editor")
            report = connection.execute(text(
                "INSERT INTO listing_reports (place_id, reason) VALUES (:p, 'other') RETURNING id"),
                {"p": users["place"]}).scalar()
            token_id = connection.execute(text(
                "INSERT INTO api_tokens (user_id, name, token_hash) VALUES (:u, 't', :h) "
                "RETURNING id"), {"u": other.id, "h": f"h{number}{column}"}).scalar()
            service = connection.execute(text(
                "INSERT INTO services (id, source, source_id, place_id, name) VALUES "
                "(gen_random_uuid(), 'test', :key, :p, 'Matrix drop-in') RETURNING id"),
                {"key": f"s{number}{column}", "p": users["place"]}).scalar()
            opportunity = connection.execute(text(
                "INSERT INTO opportunities (id, source, source_id, place_id, title, apply_url) "
                "VALUES (gen_random_uuid(), 'test', :key, :p, 'Matrix role', "
                "'https://example.org/m') RETURNING id"),
                {"key": f"o{number}{column}", "p": users["place"]}).scalar()
            outcome = connection.execute(text(
                "INSERT INTO outcomes (initiative_id, period_start, period_end, sessions_held) "
                "VALUES ('out-and-about', DATE '2020-01-01' + :n, DATE '2020-01-01' + :n, :n) "
                "RETURNING id"),
                {"n": number * 10 + column}).scalar()
        ids = {"place": users["place"], "report": report, "user": other.id, "token": token_id,
               "service": service, "opportunity": opportunity, "outcome": outcome,
               "n": f"{number}{column}"}
        client = app.test_client()
        if who != "anonymous":
            sign_in(client, f"{who.split()[0]}@kirklees.example")
        if who == "anonymous" and endpoint == "auth.login":
            data = {"email": "nobody@kirklees.example", "password": "wrong password here"}
        else:
            data = _form(endpoint, ids)
        if who != "admin without CSRF token":
            data["csrf_token"] = csrf_from(client.get("/login").data)
        with app.test_request_context():
            url = url_for(endpoint, **{k: v for k, v in _arguments(endpoint, ids).items()
                                       if k in _rule_arguments(app, endpoint)})
        status = client.post(url, data=data).status_code
        assert status == expected[column], f"{who} POST {endpoint}: {status}"


def _rule_arguments(app, endpoint):
    return next(rule.arguments for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)



CSV = ("id,name,category,latitude,longitude\n1,Golcar Library,library,53.64,-1.85\n"
       "2,Marsden Cricket Club,sports club,53.60,-1.93\n")


def upload(client, data, page="/edit/import", **files):
    token = csrf_from(client.get(page).data)
    import io

    payload = {**data, "csrf_token": token}
    for field, (name, body) in files.items():
        payload[field] = (io.BytesIO(body.encode("cp1252")), name)
    return client.post("/edit/import", data=payload, content_type="multipart/form-data")


def test_an_editor_uploads_a_file_with_a_dry_run_first(client, users, db):
    sign_in(client, "editor@kirklees.example")
    dry = upload(client, {"kind": "assets", "source": "libraries", "dry_run": "on"},
                 file=("libraries.csv", CSV))
    assert dry.status_code == 200
    assert b"Dry run: nothing was written" in dry.data and b"2 inserted" in dry.data
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places WHERE source = 'libraries'")
                                  ).scalar() == 0
    real = upload(client, {"kind": "assets", "source": "libraries"}, file=("libraries.csv", CSV))
    assert real.status_code == 200 and b"Imported" in real.data
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places WHERE source = 'libraries'")
                                  ).scalar() == 2
        entry = connection.execute(text("SELECT actor, action, after->'counts'->>'inserted' "
                                        "FROM audit_log WHERE action = 'import'")).one()
    assert entry == ("editor@kirklees.example", "import", "2")


def test_an_upload_with_a_bad_row_names_it_and_writes_nothing(client, users, db):
    sign_in(client, "editor@kirklees.example")
    bad = CSV + "3,Nowhere,library,153.0,-1.85\n"
    response = upload(client, {"kind": "assets", "source": "libraries"}, file=("bad.csv", bad))
    assert response.status_code == 422
    assert b"Nothing was written" in response.data
    assert b"<td>3</td>" in response.data
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places WHERE source = 'libraries'")
                                  ).scalar() == 0


def test_an_upload_of_a_refused_file_type_is_named(client, users):
    sign_in(client, "editor@kirklees.example")
    response = upload(client, {"kind": "assets"}, file=("run.sh", "rm -rf /"))
    assert response.status_code == 400
    assert b"file: .sh files are not accepted" in response.data


def test_scripts_import_with_an_api_token(client, users, db):
    import io

    with db.begin() as connection:
        token = accounts.create_token(connection, users["editor"].id, "nightly")
    response = client.post("/api/import", headers={"Authorization": f"Bearer {token}"},
                           data={"kind": "assets", "source": "nightly",
                                 "file": (io.BytesIO(CSV.encode()), "nightly.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["status"] == "committed" and body["counts"]["inserted"] == 2
    assert response.headers["Cache-Control"] == "private, no-store"
    anonymous = client.post("/api/import", data={"kind": "assets"},
                            headers={"Authorization": "Bearer am_not-a-real-token"})
    assert anonymous.status_code == 401
    assert anonymous.mimetype == "application/problem+json"


def test_guessing_passwords_is_rate_limited(database_url, users):
    app = create_app({"database_url": database_url, "rate_limit_login": "3 per minute"})
    client = app.test_client()
    statuses = [sign_in(client, "editor@kirklees.example", f"guess number {n}!").status_code
                for n in range(4)]
    assert statuses == [401, 401, 401, 429]
