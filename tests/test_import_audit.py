"""Every import in the audit trail (upload form, API, command line, refused uploads), each
run's page, the web report in the form's words with its offer to import the good rows,
the file kept between a dry run and the import, and undoing a run of places."""
import re
from pathlib import Path

from markupsafe import escape
from sqlalchemy import text

from importers.base import Options
from importers.places import import_places
from mapping.cli import main
from mapping.staff import kept
from mapping.staff.wording import CONTROLS
from tests.test_auth import post_form, sign_in, upload, users  # noqa: F401 - a fixture

# No id column: each row's id is made from its name and place, which the report explains
# with the advice to prune. Row 3 is off the Earth.
NO_IDS = ("name,category,latitude,longitude\nGolcar Library,library,53.64,-1.85\n"
          "Marsden Cricket Club,sports club,53.60,-1.93\nNowhere,library,153.0,-1.85\n")
FIRST = ("id,name,operator,latitude,longitude\nL1,Golcar Library,Kirklees Council,53.64,-1.85\n"
         "L2,Marsden Library,Kirklees Council,53.60,-1.93\n")
# L1 renamed and run by someone else, L2 gone (pruned), L3 new.
SECOND = ("id,name,operator,latitude,longitude\nL1,Golcar Community Library,Golcar Lily,53.64,-1.85\n"
          "L3,Slaithwaite Library,Kirklees Council,53.61,-1.88\n")
FLAGS = re.compile(r"--[a-z][a-z-]+")


def report_html(response) -> str:
    html = response.data.decode()
    return html[html.index('id="report-heading"'):html.index('id="choose-heading"')]


def scalar(db, sql, **params):
    with db.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def test_a_dry_run_speaks_of_the_form_and_offers_the_good_rows_of_the_kept_file(
        client, users, db, app):  # noqa: F811
    sign_in(client, "editor@kirklees.example")
    dry = upload(client, {"kind": "assets", "source": "libraries", "dry_run": "on"},
                 file=("no ids.csv", NO_IDS))
    assert dry.status_code == 200, dry.data
    report = report_html(dry)
    assert not FLAGS.findall(report), FLAGS.findall(report)
    assert str(escape(f"tick “{CONTROLS['prune']}” to remove the old")) in report
    assert "1 row has problems: as the file stands nothing would be written" in report
    assert "If you import just the 2 good rows" in report
    assert "<strong>2</strong> would be inserted" in report
    assert "<td>3</td>" in report
    token = re.search(r'name="kept" value="([^"]+)"', dry.data.decode()).group(1)
    var_dir = app.extensions["assetmap.settings"].var_dir
    kept_file = kept.find(var_dir, token, users["editor"].id)
    assert kept_file is not None and kept_file.path.read_bytes() == NO_IDS.encode("cp1252")
    assert kept.find(var_dir, token, users["admin"].id) is None  # only its uploader's
    assert scalar(db, "SELECT count(*) FROM places WHERE source = 'libraries'") == 0

    # The follow-up form: no file chosen again, just the kept one and "the good rows".
    real = post_form(client, "/edit/import", {"kept": token, "kind": "assets",
                                              "source": "libraries", "skip_invalid": "on"},
                     page="/edit/import")
    assert real.status_code == 200, real.data
    assert "Imported" in report_html(real)
    assert "1 row with problems was left out, as asked." in report_html(real)
    assert scalar(db, "SELECT count(*) FROM places WHERE source = 'libraries'") == 2
    assert not kept_file.path.parent.exists()  # used: gone
    again = post_form(client, "/edit/import", {"kept": token, "kind": "assets"},
                      page="/edit/import")
    assert again.status_code == 400 and b"file: the file kept from your last check" in again.data

    with db.connect() as connection:
        entries = connection.execute(text(
            "SELECT actor, action, record_id, after->>'file', after->'counts'->>'inserted' "
            "FROM audit_log WHERE table_name = 'import_runs' ORDER BY id")).all()
    assert [e[:2] for e in entries] == [("editor@kirklees.example", "dry run"),
                                        ("editor@kirklees.example", "import"),
                                        ("editor@kirklees.example", "import refused")]
    assert entries[0][3] == entries[1][3] == "no_ids.csv"
    assert entries[1][4] == "2" and entries[2][2] is None
    run_page = client.get(f"/edit/imports/{entries[1][2]}")
    assert run_page.status_code == 200
    assert b"no_ids.csv" in run_page.data and b"Undo this import" in run_page.data


def test_old_kept_files_are_removed(tmp_path):
    upload_file = tmp_path / "a.csv"
    upload_file.write_text("name\n")
    old = kept.keep(tmp_path, upload_file, "a.csv", 1)
    import os
    import time

    stale = time.time() - kept.KEEP_SECONDS - 60
    os.utime(old.path.parent, (stale, stale))
    assert kept.remove_old(tmp_path) == 1
    assert kept.find(tmp_path, old.token, 1) is None
    assert kept.find(tmp_path, "../../etc", 1) is None


def test_a_refused_upload_is_in_the_audit_trail_with_its_reason(client, users, db):  # noqa: F811
    sign_in(client, "editor@kirklees.example")
    response = upload(client, {"kind": "assets"}, file=("run.sh", "rm -rf /"))
    assert response.status_code == 400
    with db.connect() as connection:
        entry = connection.execute(text(
            "SELECT actor, action, after->>'file', after->>'reason' FROM audit_log")).one()
    assert entry == ("editor@kirklees.example", "import refused", "run.sh",
                     "file: .sh files are not accepted (.csv, .geojson, .gpkg, .json, .tsv, "
                     + ".txt, .zip)")


def test_command_line_imports_are_audited_under_the_operating_system_user(
        runner, client, users, db, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SUDO_USER", "jsmith")
    good, bad = tmp_path / "libraries.csv", tmp_path / "broken.csv"
    good.write_text(FIRST)
    bad.write_text(FIRST + "L9,Nowhere,Nobody,153.0,-1.85\n")
    assert runner.invoke(main, ["import", "assets", str(good)]).exit_code == 0
    assert runner.invoke(main, ["import", "assets", str(bad)]).exit_code == 1
    with db.connect() as connection:
        entries = connection.execute(text(
            "SELECT a.actor, a.action, a.after->>'file', a.after->>'via', r.run_by, r.status, "
            "a.record_id FROM audit_log a JOIN import_runs r ON r.id = a.record_id::bigint "
            "ORDER BY a.id")).all()
    assert [e[:6] for e in entries] == [
        ("jsmith", "import", "libraries.csv", "command line", "jsmith", "committed"),
        ("jsmith", "import refused", "broken.csv", "command line", "jsmith", "failed")]
    sign_in(client, "editor@kirklees.example")
    page = client.get(f"/edit/imports/{entries[1][6]}").data.decode()
    assert "broken.csv" in page and "Nothing was written" in page and "<td>3</td>" in page
    assert "cannot be undone: it wrote nothing (it failed)" in page
    # The report worded for the form: the command line's advice is not repeated there.
    assert "--skip-invalid" not in page and "import just the good rows" in page
    admin = sign_in(client, "admin@kirklees.example")
    assert admin.status_code == 302
    trail = client.get("/admin/audit").data.decode()
    assert f'href="/edit/imports/{entries[0][6]}"' in trail and "libraries.csv" in trail
    assert "2 inserted" in trail


def _import(db, path: Path, body: str, **options) -> int:
    path.write_text(body)
    report = import_places(db, "assets", path, Options(source="libraries", **options))
    assert report.status == "committed", report.lines()
    return report.run_id


def _places(db) -> dict:
    with db.connect() as connection:
        return {row[0]: row[1:] for row in connection.execute(text(
            "SELECT p.source_id, p.name, a.operator, p.deleted_at IS NULL FROM places p "
            "JOIN community_assets a ON a.place_id = p.id WHERE p.source = 'libraries'"))}


def test_undo_removes_what_a_run_added_and_puts_back_what_it_changed(
        client, users, db, tmp_path):  # noqa: F811
    first = _import(db, tmp_path / "first.csv", FIRST)
    before = _places(db)
    second = _import(db, tmp_path / "second.csv", SECOND, prune=True)
    assert _places(db) == {"L1": ("Golcar Community Library", "Golcar Lily", True),
                           "L2": ("Marsden Library", "Kirklees Council", False),
                           "L3": ("Slaithwaite Library", "Kirklees Council", True)}
    version = scalar(db, "SELECT version FROM data_version")
    sign_in(client, "editor@kirklees.example")
    response = post_form(client, f"/edit/imports/{second}/undo", page="/edit/import")
    assert response.status_code == 303
    assert _places(db) == before
    assert scalar(db, "SELECT version FROM data_version") > version
    assert scalar(db, "SELECT string_agg(name, ', ' ORDER BY name) FROM published_places "
                      "WHERE id IN (SELECT id FROM places WHERE source = 'libraries')"
                  ) == "Golcar Library, Marsden Library"
    assert scalar(db, "SELECT import_run_id FROM places WHERE source_id = 'L1'") == first
    page = client.get(response.headers["Location"]).data.decode()
    assert "1 places it added were removed and 2 it changed were put back" in page
    assert "cannot be undone: it was undone on" in page
    with db.connect() as connection:
        entry = connection.execute(text(
            "SELECT actor, after FROM audit_log WHERE action = 'undo import'")).one()
    assert entry == ("editor@kirklees.example", {"removed": 1, "restored": 2})
    twice = post_form(client, f"/edit/imports/{second}/undo", page="/edit/import")
    assert twice.status_code == 409 and b"cannot be undone: it was undone on" in twice.data
    # The first run, undone in its turn, leaves no place behind.
    assert post_form(client, f"/edit/imports/{first}/undo",
                     page="/edit/import").status_code == 303
    assert _places(db) == {}


def test_undo_is_refused_naming_the_places_changed_since(client, users, db,  # noqa: F811
                                                         tmp_path):
    first = _import(db, tmp_path / "first.csv", FIRST)
    second = _import(db, tmp_path / "second.csv", SECOND)
    sign_in(client, "editor@kirklees.example")
    place_id = scalar(db, "SELECT id FROM places WHERE source_id = 'L3'")
    edited = post_form(client, f"/edit/places/{place_id}",
                       {"name": "Slaithwaite Town Library", "location_precision": "exact"},
                       page="/edit/import")
    assert edited.status_code == 302
    after_edit = _places(db)
    refused = post_form(client, f"/edit/imports/{second}/undo", page="/edit/import")
    assert refused.status_code == 409
    page = refused.data.decode()
    assert "1 of the places it wrote has been changed since" in page
    assert f'href="/edit/places/{place_id}">Slaithwaite Town Library</a>' in page
    assert "changed since, on" in page
    # The first run's Golcar Library was written over by the second run.
    refused_first = post_form(client, f"/edit/imports/{first}/undo", page="/edit/import")
    assert refused_first.status_code == 409
    assert f"written since by import run {second}" in refused_first.data.decode()
    assert _places(db) == after_edit
    assert scalar(db, "SELECT count(*) FROM import_runs WHERE undone_at IS NOT NULL") == 0
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'undo refused'") == 2
