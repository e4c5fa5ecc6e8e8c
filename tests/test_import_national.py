"""National exports: the UK mutual aid lists land only what lies in Kirklees or its
margin; the rest is left out and counted unless the officer asks to keep it. Places in the
margin are loaded, named, and counted in no ward. The tests assert on the importer's
`Report`; one runs `assetmap import` for the command's own options and text."""
from __future__ import annotations

import json

import pytest
from conftest import shared_data
from sqlalchemy import text
from test_auth import PASSWORD, csrf_from, sign_in
from test_import_helpers import load_places, load_wards, note, run, scalar, ward_of, warnings

from mapping.staff import accounts

MARCH = "mutual-aid/uk-groups-2020-03-27.json"
STAR = "mutual-aid/uk-groups-star-delimited.csv"
API = "mutual-aid/api-response-2020-05.json"

# (file, extra options, rows, published, left out, in the margin but in no ward)
SHAPES = [(MARCH, {}, 2791, 27, 2764, 7),
          (STAR, {"skip_invalid": True}, 4203, 57, 4104, 11),
          (API, {}, 4253, 58, 4195, 11)]
# The wards' margin, measured on the British National Grid, as the importer measures it.
BEYOND_MARGIN = """
    SELECT count(*) FROM places p, (SELECT ST_Union(geom_bng) AS g FROM areas
                                     WHERE kind = 'ward') w
     WHERE ST_Distance(p.geom_bng, w.g) > 2000"""
IN_THE_MARGIN = "in the margin, outside every ward: "


@pytest.fixture
def wards(db):
    return load_wards(db)


@pytest.mark.parametrize(("path", "extra", "read", "published", "left_out", "in_margin"),
                         SHAPES, ids=["json-array", "star-csv", "api-response"])
def test_a_national_export_publishes_only_the_district_and_its_margin(
        wards, db, path, extra, read, published, left_out, in_margin):
    report = load_places(db, "mutual-aid", shared_data(path), **extra)
    assert report.status == "committed", report.lines()
    assert report.rows == read
    assert report.counts == {"inserted": published, "updated": 0, "unchanged": 0, "pruned": 0,
                             "left out (outside)": left_out,
                             "in the margin (no ward)": in_margin}
    outside = note(report, "outside Kirklees")
    assert outside.startswith(f"left out: {left_out:,} outside Kirklees (more than 2,000 m "
                              f"beyond the wards), e.g. row "), outside
    assert outside.endswith("; to load them too, use --keep-outside (on the upload form: "
                            "Keep places outside Kirklees)"), outside
    assert note(report, IN_THE_MARGIN).startswith(f"{IN_THE_MARGIN}{in_margin:,}, ")
    assert len([w for w in warnings(report) if w[2].startswith(IN_THE_MARGIN)]) == in_margin
    assert scalar(db, "SELECT count(*) FROM places") == published
    assert scalar(db, BEYOND_MARGIN) == 0
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NULL") == in_margin


def test_the_report_names_the_groups_left_out_and_those_in_the_margin(wards, db):
    groups = json.loads(shared_data(MARCH).read_text())
    report = load_places(db, "mutual-aid", shared_data(MARCH))
    assert report.status == "committed", report.lines()
    assert f"e.g. row 1 ({groups[0]['name']}), " in note(report, "outside Kirklees")
    with db.connect() as connection:
        margin = connection.execute(text(
            "SELECT source_id FROM places WHERE ward_code IS NULL")).scalars().all()
    by_id = {g["id"]: (number, g) for number, g in enumerate(groups, 1)}
    numbers = []
    for source_id in margin:
        number, group = by_id[source_id]
        assert ward_of(group["location_coord"]["lng"], group["location_coord"]["lat"]) is None
        numbers.append(number)
    named = [(row, field) for row, field, reason in warnings(report)
             if reason.startswith(IN_THE_MARGIN)]
    assert named == [(number, "location") for number in sorted(numbers)]
    assert len(named) == 7
    assert "Cawthorne Village Community Support" in note(report, IN_THE_MARGIN)


def test_keep_outside_publishes_every_group_and_no_ward_counts_the_outsiders(wards, db, client):
    report = load_places(db, "mutual-aid", shared_data(MARCH), keep_outside=True)
    assert report.status == "committed", report.lines()
    assert report.counts["inserted"] == 2791 and report.counts["kept outside"] == 2764
    outside = [(row, field) for row, field, reason in warnings(report) if reason ==
               "outside the district: 43.0 km beyond the wards (the margin is 2,000 m)"]
    assert outside and all(field == "location" for _, field in outside)
    assert note(report, "--keep-outside") == ("kept: 2,764 outside Kirklees (more than 2,000 m "
                                              "beyond the wards), in no ward (--keep-outside)")
    assert scalar(db, "SELECT count(*) FROM places") == 2791
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NOT NULL") == 20
    wards_table = client.get("/wards.json").get_json()["wards"]
    assert sum(w["places"] for w in wards_table) == 20


def test_the_home_page_counts_only_the_district_after_a_default_import(wards, db, client):
    assert load_places(db, "mutual-aid", shared_data(MARCH)).status == "committed"
    page = client.get("/").get_data(as_text=True)
    assert "27 community places across Kirklees" in page
    assert "redditch" not in page.lower()


def test_margin_places_count_in_no_ward_and_are_listed_for_editors(wards, db, client):
    assert load_places(db, "mutual-aid", shared_data(MARCH)).status == "committed"
    wards_table = client.get("/wards.json").get_json()["wards"]
    assert sum(w["places"] for w in wards_table) == 20
    with db.begin() as connection:
        accounts.add_user(connection, "editor@kirklees.example", PASSWORD, "editor")
    sign_in(client, "editor@kirklees.example")
    dashboard = client.get("/edit").get_data(as_text=True)
    assert "Outside every ward (7)" in dashboard
    assert "Cawthorne Village Community Support" in dashboard
    assert "Coronaheroes Diggle" in dashboard


def test_a_bad_row_still_refuses_the_whole_national_file(wards, db):
    report = load_places(db, "mutual-aid", shared_data(STAR))
    assert report.status == "failed" and not report.ok
    assert (report.rows, report.invalid, report.counts) == (4203, 4, {})
    assert scalar(db, "SELECT count(*) FROM places") == 0


def test_skip_outside_is_the_default_and_contradicts_keep_outside(wards, runner, db):
    """Tests the CLI: the hidden --skip-outside is accepted (exit 0) and loads what a default
    import loads; the printed report's summary and its hint to --keep-outside; and
    --skip-outside with --keep-outside is a usage error (exit 2)."""
    result = run(runner, "import", "mutual-aid", shared_data(MARCH), "--skip-outside")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "mutual-aid: done; 2,791 rows read; 27 inserted, 0 updated, 0 unchanged, 0 pruned, "
        "2,764 left out (outside), 7 in the margin (no ward); 0 invalid, 8 warnings ("), \
        result.output
    assert ("to load them too, use --keep-outside (on the upload form: Keep places outside "
            "Kirklees)") in result.output
    assert scalar(db, "SELECT count(*) FROM places") == 27
    both = run(runner, "import", "mutual-aid", shared_data(MARCH), "--skip-outside",
               "--keep-outside")
    assert both.exit_code == 2
    assert "--keep-outside and --skip-outside contradict each other" in both.output


def test_without_wards_every_row_is_kept_and_the_report_says_why(db):
    report = load_places(db, "mutual-aid", shared_data(MARCH))
    assert report.status == "committed", report.lines()
    assert report.counts == {"inserted": 2791, "updated": 0, "unchanged": 0, "pruned": 0}
    assert note(report, "no wards are loaded").startswith(
        "no wards are loaded, so there is no district to cut to: every row was kept")


def test_the_upload_form_keeps_outside_places_only_when_asked(wards, db, client):
    with db.begin() as connection:
        accounts.add_user(connection, "editor@kirklees.example", PASSWORD, "editor")
    sign_in(client, "editor@kirklees.example")
    form = client.get("/edit/import").get_data(as_text=True)
    assert 'name="keep_outside"' in form and "more than 2,000 m beyond the wards" in form

    def upload(**fields):
        with open(shared_data(MARCH), "rb") as handle:
            return client.post("/edit/import", data={
                "csrf_token": csrf_from(client.get("/edit/import").data), "kind": "mutual-aid",
                "source": "march", "file": (handle, "uk-groups.json"), **fields})

    default = upload()
    assert default.status_code == 200, default.get_data(as_text=True)
    page = default.get_data(as_text=True)
    assert "2,764 left out (outside)" in page and "Keep places outside Kirklees" in page
    assert "in the margin, outside every ward: 7" in page
    assert scalar(db, "SELECT count(*) FROM places") == 27
    kept = upload(keep_outside="on")
    assert kept.status_code == 200
    assert "2,764 inserted" in kept.get_data(as_text=True)
    assert scalar(db, "SELECT count(*) FROM places") == 2791
