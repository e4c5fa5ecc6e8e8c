"""Editors add, change, remove and restore a place's volunteering opportunities, and
record what an initiative achieved, with the same checks as a file; each change is audited
and reaches the public pages at once, small counts suppressed there."""
from __future__ import annotations

from sqlalchemy import text
from test_auth import csrf_from, sign_in, users  # noqa: F401 - the fixture
from test_import_helpers import load_wards, rows, scalar

ROLE = {"title": "Befriending caller", "description": "Ring an older neighbour each week.",
        "initiative": "out-and-about", "commitment": "regular", "hours_per_week": "1",
        "schedule": "Wednesdays 10am-12pm", "start_date": "", "closing_date": "",
        "minimum_age": "18", "dbs_check": "yes", "skills": "listening; patience",
        "accessibility": "From home, by phone", "apply_url": "",
        "apply_email": "befriend@golcar.example", "apply_phone": ""}


def post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).data)
    return client.post(url, data={**data, "csrf_token": token})


def test_an_editor_adds_changes_removes_and_restores_an_opportunity(client, users, db):  # noqa: F811
    place = users["place"]
    sign_in(client, "editor@kirklees.example")
    assert b"Add a volunteering opportunity" in client.get(f"/edit/places/{place}").data
    refused = post(client, f"/edit/places/{place}/opportunities/new",
                   {**ROLE, "commitment": "sometimes", "minimum_age": "200",
                    "apply_email": ""}, page=f"/edit/places/{place}/opportunities/new")
    assert refused.status_code == 400
    for words in (b"commitment: &#39;sometimes&#39; is not a time commitment",
                  b"minimum_age: 200 is not an age", b"apply_url: say how to apply"):
        assert words in refused.data, words
    assert scalar(db, "SELECT count(*) FROM opportunities") == 0

    added = post(client, f"/edit/places/{place}/opportunities/new", ROLE,
                 page=f"/edit/places/{place}/opportunities/new")
    assert added.status_code == 302, added.data[:2000]
    opportunity = added.headers["Location"].rsplit("/", 1)[1]
    public = client.get(f"/help-out/{opportunity}.json").get_json()
    assert (public["title"], public["days"], public["initiative"], public["minimum_age"],
            public["dbs_check"], public["apply_email"], public["place_id"]) == (
        "Befriending caller", ["WE"], "out-and-about", 18, True, "befriend@golcar.example",
        place)
    assert b"Befriending caller" in client.get(f"/edit/places/{place}").data

    changed = post(client, f"/edit/opportunities/{opportunity}",
                   {**ROLE, "schedule": "Saturdays 2-4pm", "initiative": ""})
    assert changed.status_code == 302
    public = client.get(f"/help-out/{opportunity}.json").get_json()
    assert public["days"] == ["SA"] and public["initiative"] is None
    assert post(client, f"/edit/opportunities/{opportunity}/remove", {},
                page=f"/edit/opportunities/{opportunity}").status_code == 302
    assert client.get(f"/help-out/{opportunity}").status_code == 404
    assert post(client, f"/edit/opportunities/{opportunity}/restore", {},
                page=f"/edit/opportunities/{opportunity}").status_code == 302
    assert client.get(f"/help-out/{opportunity}").status_code == 200
    actions = [r[0] for r in rows(db, "SELECT action FROM audit_log WHERE table_name = "
                                      "'opportunities' ORDER BY id")]
    assert actions == ["create", "update", "remove", "restore"]


def test_the_place_private_contact_is_refused_as_the_way_to_apply(client, users, db):  # noqa: F811
    place = users["place"]
    with db.begin() as connection:
        connection.execute(text("UPDATE places SET email = 'me@home.example', "
                                "email_public = false, phone = '07700 900123', "
                                "phone_public = false WHERE id = :id"), {"id": place})
    sign_in(client, "editor@kirklees.example")
    page = f"/edit/places/{place}/opportunities/new"
    refused = post(client, page, {**ROLE, "apply_email": "ME@home.example",
                                  "apply_phone": "07700900123"})
    assert refused.status_code == 400
    assert b"apply_email: this is the place&#39;s private e-mail address" in refused.data
    assert b"apply_phone: this is the place&#39;s private telephone number" in refused.data
    assert scalar(db, "SELECT count(*) FROM opportunities") == 0


def test_an_editor_records_results_that_are_published_suppressed(client, users, db):  # noqa: F811
    wards = load_wards(db)
    golcar = next(code for code, (name, _) in wards.items() if name == "Golcar")
    sign_in(client, "editor@kirklees.example")
    results = {"initiative": "out-and-about", "period_start": "2026-04-01",
               "period_end": "2026-06-30", "level": "ward", "ward_code": golcar,
               "people_supported": "3", "sessions_held": "12", "volunteers": "9",
               "volunteer_hours": "36", "measure": "UCLA 3-item loneliness scale (3 to 9)",
               "better": "lower", "measured_people": "3", "score_before": "7.5",
               "score_after": "5.25", "notes": "Two of them are neighbours of Mr Smith"}
    bad = post(client, "/edit/outcomes/new", {**results, "period_end": "2026-01-01",
                                              "score_after": "", "people_supported": "-2"})
    assert bad.status_code == 400
    for words in (b"period_end: the period ends before it starts",
                  b"score_after: give both scores", b"people_supported: -2 is not a number"):
        assert words in bad.data, words
    made = post(client, "/edit/outcomes/new", results)
    assert made.status_code == 302, made.data[:3000]
    again = post(client, "/edit/outcomes/new", results)
    assert again.status_code == 400 and b"already recorded" in again.data
    # Editors see the record whole; the public, aggregates with small counts suppressed.
    editor_view = client.get("/edit/outcomes").get_data(as_text=True)
    assert "Golcar ward" in editor_view
    public = client.get(f"/outcomes.json?ward={golcar}").get_json()["outcomes"]
    (record,) = public
    assert (record["people_supported"], record["sessions_held"], record["volunteers"]) == (
        None, 12, 9)
    assert record["score_before"] is None and record["scores_suppressed"]
    ward_page = client.get(f"/wards/{golcar}").get_data(as_text=True)
    assert "fewer than 5" in ward_page and "Mr Smith" not in ward_page
    outcome = made.headers["Location"].rsplit("/", 1)[1]
    assert post(client, f"/edit/outcomes/{outcome}", {**results, "people_supported": "40",
                                                      "measured_people": "30"}
                ).status_code == 302
    (record,) = client.get(f"/outcomes.json?ward={golcar}").get_json()["outcomes"]
    assert (record["people_supported"], record["score_before"], record["score_after"],
            record["improved"]) == (40, 7.5, 5.25, True)
    assert post(client, f"/edit/outcomes/{outcome}/remove", {},
                page=f"/edit/outcomes/{outcome}").status_code == 302
    assert client.get(f"/outcomes.json?ward={golcar}").get_json()["outcomes"] == []
    actions = [r[0] for r in rows(db, "SELECT action FROM audit_log WHERE table_name = "
                                      "'outcomes' ORDER BY id")]
    assert actions == ["create", "update", "remove"]
