"""The assetmap command: its commands exist, and `demo` never overwrites real data."""
from sqlalchemy import text

from mapping.cli import main


def test_help_lists_the_commands(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "demo", "serve", "stop"):
        assert command in result.output
    db_help = runner.invoke(main, ["db", "--help"]).output
    assert "upgrade" in db_help and "downgrade" in db_help


def test_demo_loads_into_an_empty_database_only(runner, db):
    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "23 wards" in first.output
    with db.connect() as connection:
        places = connection.execute(text("SELECT count(*) FROM places")).scalar()
    assert places > 300
    second = runner.invoke(main, ["demo"])
    assert second.exit_code == 0
    assert "nothing loaded" in second.output
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places")).scalar() == places


def test_demo_data_is_deterministic_and_inside_its_wards(connection):
    from importers import demo

    def snapshot():
        # Loaded in a savepoint rolled back afterwards, so the next load starts from the
        # same empty tables.
        savepoint = connection.begin_nested()
        demo.load(connection)
        rows = connection.execute(text(
            "SELECT kind, name, ST_AsText(geom), ward_code FROM places ORDER BY source_id")).all()
        outside = connection.execute(text(
            "SELECT count(*) FROM places WHERE ward_code IS NULL")).scalar()
        savepoint.rollback()
        return rows, outside

    first, outside = snapshot()
    second, _ = snapshot()
    assert first == second
    assert outside == 0
    kinds = {row[0] for row in first}
    assert kinds == {"community_asset", "transferred_building", "mutual_aid_group", "hub"}
    assert sum(1 for row in first if row[0] == "mutual_aid_group") == 130
    assert sum(1 for row in first if row[0] == "hub") == 12
