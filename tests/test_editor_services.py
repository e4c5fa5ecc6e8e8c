"""Editors add, change and remove a place's services on its editor page, with the same
checks a services file gets; each change is audited and reaches /openreferral at once
(its schedule parsed, its area the union of the real wards ticked)."""
from __future__ import annotations

import json

import shapely
from shapely.geometry import shape
from sqlalchemy import text
from test_auth import csrf_from, sign_in, users  # noqa: F401 - the fixture
from test_import_helpers import load_wards, rows, scalar
from test_openreferral import check, get

SERVICE = {"name": "Knit and natter", "description": "Bring your needles.",
           "schedule": "Thursdays 13:00-15:00", "minimum_age": "16", "maximum_age": "",
           "free": "no", "cost": "£1 for tea", "languages": "English; Urdu",
           "accessibility": "step-free access", "categories": "social", "url": "",
           "email": "", "status": "active", "area": "wards",
           "organisation": "Golcar Knitters", "organisation_website": "golcarknitters.example"}


def post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).data)
    return client.post(url, data={**data, "csrf_token": token})


def test_an_editor_adds_changes_and_removes_a_service(client, users, db):  # noqa: F811
    wards = load_wards(db)
    golcar, colne = sorted(code for code, (name, _) in wards.items()
                           if name in ("Golcar", "Colne Valley"))
    place = users["place"]
    derived = str(scalar(db, "SELECT service_uuid FROM places WHERE id = :id", id=place))
    sign_in(client, "editor@kirklees.example")
    page = client.get(f"/edit/places/{place}")
    assert b"None of its own" in page.data

    response = post(client, f"/edit/places/{place}/services/new",
                    {**SERVICE, "wards": [golcar, colne]})
    assert response.status_code == 302, response.data[:2000]
    service_id = response.headers["Location"].rsplit("/", 1)[1]
    record = get(client, f"/openreferral/services/{service_id}")
    check(record, "compiled/service.json")
    assert (record["name"], record["minimum_age"]) == ("Knit and natter", 16)
    assert [s["byday"] for s in record["schedules"]] == ["TH"]
    assert [lang["code"] for lang in record["languages"]] == ["en", "ur"]
    assert (record["organization"]["name"], record["organization"]["website"]) == (
        "Golcar Knitters", "https://golcarknitters.example")
    truth = shapely.union_all([wards[golcar][1], wards[colne][1]])
    (area,) = record["service_areas"]
    assert shape(json.loads(area["extent"])).symmetric_difference(truth).area < truth.area * 1e-3
    # The place has a service of its own now, so it no longer stands for one.
    assert client.get(f"/openreferral/services/{derived}").status_code == 404
    assert b"Knit and natter" in client.get(f"/edit/places/{place}").data

    changed = post(client, f"/edit/services/{service_id}",
                   {**SERVICE, "schedule": "1st Sat of the month 10:00-12:00",
                    "wards": [golcar], "organisation": "", "organisation_website": ""})
    assert changed.status_code == 302
    record = get(client, f"/openreferral/services/{service_id}")
    assert [(s["freq"], s["byday"]) for s in record["schedules"]] == [("MONTHLY", "1SA")]
    assert record["service_areas"][0]["name"] == wards[golcar][0]
    # No organisation named: run by the place's own.
    assert record["organization"]["name"] == "Golcar Library"

    removed = post(client, f"/edit/services/{service_id}/remove", {},
                   page=f"/edit/services/{service_id}")
    assert removed.status_code == 302
    assert client.get(f"/openreferral/services/{service_id}").status_code == 404
    assert client.get(f"/openreferral/services/{derived}").status_code == 200
    assert scalar(db, "SELECT count(*) FROM schedules WHERE service_id = :id",
                  id=service_id) == 1  # kept with the removed service, for a restore
    with db.connect() as connection:
        actions = connection.execute(text(
            "SELECT action FROM audit_log WHERE table_name = 'services' ORDER BY id"
        )).scalars().all()
    assert actions == ["create", "update", "remove"]


def test_a_bad_service_names_each_field_and_changes_nothing(client, users, db):  # noqa: F811
    sign_in(client, "editor@kirklees.example")
    response = post(client, f"/edit/places/{users['place']}/services/new",
                    {**SERVICE, "name": "", "minimum_age": "20", "maximum_age": "12",
                     "languages": "Klingon", "url": "not a link", "status": "thriving"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for problem in ("name: a service needs a name",
                    "maximum_age: the maximum age (12) is below the minimum age (20)",
                    "languages: &#39;Klingon&#39;: not a language this map knows",
                    "url: &#39;not a link&#39; is not a web address",
                    "status: &#39;thriving&#39; is not a service status"):
        assert problem in page, problem
    assert scalar(db, "SELECT count(*) FROM services") == 0
    assert scalar(db, "SELECT count(*) FROM audit_log") == 0


def test_an_edited_place_s_opening_hours_reach_the_open_filter(client, users, db):  # noqa: F811
    place = users["place"]
    sign_in(client, "editor@kirklees.example")
    response = post(client, f"/edit/places/{place}",
                    {"name": "Golcar Library", "location_precision": "exact",
                     "opening_hours": "Saturdays 10:00-12:00"})
    assert response.status_code == 302
    rules = [tuple(r) for r in rows(db, "SELECT freq, byday FROM schedules "
                                        "WHERE place_id = :id", id=place)]
    assert rules == [("WEEKLY", ["SA"])]
    response = client.get("/layers/places.geojson", query_string={"open": "SA"})
    assert response.status_code == 200, response.data[:300]
    names = [f["properties"]["name"] for f in response.get_json()["features"]]
    assert names == ["Golcar Library"]


def test_an_editor_uploads_a_services_file(client, users, db):  # noqa: F811
    from test_auth import upload

    load_wards(db)
    sign_in(client, "editor@kirklees.example")
    body = ("id,name,place,wards,hours\r\n"
            f"u1,Warm space,{users['place']},Golcar,Mon-Fri 10-4\r\n"
            "u2,Lost,The Moon,,\r\n")
    refused = upload(client, {"kind": "services"}, file=("services.csv", body))
    assert refused.status_code == 422
    assert "no place on the map has the number, id or name &#39;The Moon&#39;" in \
        refused.get_data(as_text=True)
    assert scalar(db, "SELECT count(*) FROM services") == 0
    loaded = upload(client, {"kind": "services", "skip_invalid": "on"},
                    file=("services.csv", body))
    assert loaded.status_code == 200, loaded.get_data(as_text=True)[:2000]
    assert rows(db, "SELECT s.name, s.place_id, a.name FROM services s "
                    "JOIN service_areas a ON a.service_id = s.id") == [
        ("Warm space", users["place"], "Golcar")]
    assert scalar(db, "SELECT run_by FROM import_runs WHERE kind = 'services' "
                      "AND status = 'committed'") == "editor@kirklees.example"
