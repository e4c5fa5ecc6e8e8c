"""The backup and restore in docs/deploying.md work: run them on a populated database."""
import subprocess

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mapping import create_app
from mapping.staff import accounts
from tests.conftest import _recreate, with_database

COUNTED = ("places", "areas", "postcodes", "users", "place_links", "mutual_aid_groups")


def counts(url):
    engine = create_engine(url)
    with engine.connect() as connection:
        result = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}
        result["geometry"] = connection.execute(text(
            "SELECT md5(string_agg(ST_AsEWKB(geom)::text, '' ORDER BY id)) FROM places")).scalar()
    engine.dispose()
    return result


def test_pg_dump_and_pg_restore_bring_everything_back(demo_data, db, database_url, tmp_path):
    with db.begin() as connection:
        accounts.add_user(connection, "admin@kirklees.example", "correct horse battery", "admin")
    source = make_url(database_url)
    dump = tmp_path / "assetmap.dump"
    pgurl = source.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", pgurl], check=True)

    restored_url = with_database(database_url, source.database + "_restored")
    _recreate(restored_url)
    restored = make_url(restored_url)
    target = restored.set(drivername="postgresql").render_as_string(hide_password=False)
    # The database is created by _recreate (createdb's job); then the documented steps.
    subprocess.run(["psql", "-q", "-d", target, "-c", "CREATE EXTENSION postgis"], check=True)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump)],
                   check=True)

    assert counts(restored_url) == counts(database_url)
    assert counts(restored_url)["places"] > 300
    app = create_app({"database_url": restored_url})
    health = app.test_client().get("/healthz").get_json()
    assert health["migration"] == health["migration_head"]
