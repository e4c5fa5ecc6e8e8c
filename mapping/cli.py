"""The `assetmap` command: thin wrappers that parse, call the library and print its report."""
from __future__ import annotations

import os
import sys

import click

from layers.kinds import BY_COMMAND
from mapping.core.config import DatabaseUrlError, Settings


def _settings() -> Settings:
    return Settings.from_env()


def _url() -> str:
    from mapping.core.embedded import EmbeddedError

    try:
        return _settings().resolved_database_url()
    except (EmbeddedError, DatabaseUrlError) as error:
        raise click.ClickException(str(error)) from error


@click.group()
def main() -> None:
    """Kirklees community asset map: database, data loading and the web server."""


@main.group()
def db() -> None:
    """Create, upgrade or downgrade the database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from mapping.core import db as database

    database.upgrade(_url(), revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' removes every table)."""
    from mapping.core import db as database

    database.downgrade(_url(), revision)
    click.echo(f"database downgraded to {revision}")


@db.command("url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded cluster if needed)."""
    click.echo(_url())


@main.command()
@click.option("--force", is_flag=True,
              help="Generate the demo places again even if places exist (or were removed).")
@click.option("--remove", is_flag=True,
              help="Remove every generated place, and nothing else; the demo banner goes too.")
@click.option("--seed", default=20261123, show_default=True, help="Random seed.")
def demo(force: bool, remove: bool, seed: int) -> None:
    """Load the real reference layers in data/ and generated places on top (into an empty
    database unless --force), or take the generated places away (--remove)."""
    from sqlalchemy import create_engine

    from importers import demo as demo_data
    from importers.base import Options

    engine = create_engine(_url())
    try:
        with engine.begin() as connection:
            if remove:
                removed = demo_data.remove(connection)
                click.echo(_demo_removed(removed))
                return
            has_places = demo_data.has_places(connection)
            if force:
                demo_data.remove(connection)
            elif has_places or demo_data.was_removed(connection):
                why = ("the database already has places" if has_places
                       else "the demo places were removed")
                click.echo(f"demo: {why}; nothing loaded (use --force)")
                return
            counts = demo_data.load(connection, seed=seed,
                                    options=Options.from_settings(_settings(), progress=True))
    except demo_data.DemoError as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()
    click.echo("demo: loaded " + ", ".join(f"{n:,} {what}" for what, n in counts.items()))
    click.echo("demo: the places are generated; the boundaries, postcodes and deprivation "
               "figures are real (data/LICENCES). Remove the places with: assetmap demo --remove")


def _demo_removed(removed: dict) -> str:
    if not removed:
        return "demo: there were no generated places to remove"
    kinds = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in removed.items())
    return (f"demo: removed {sum(removed.values()):,} generated places ({kinds}); the "
            f"boundaries, postcodes, statistics and users are kept")


def _note_demo_places(engine, report) -> None:
    """After a real import, say how to take away the demo places still on the map."""
    from importers.demo import remaining_note

    if report.status == "committed":
        with engine.connect() as connection:
            note = remaining_note(connection)
        if note:
            report.notes.append(note)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn, the production server."""
    from mapping.core.assets import AssetsMissing, check_installed

    try:
        check_installed()
    except AssetsMissing as error:
        raise click.ClickException(str(error)) from error
    os.environ["DATABASE_URL"] = _url()
    click.echo(f"serving on http://{host}:{port} with {workers} workers")
    os.execv(sys.executable, gunicorn_command(host, port, workers))


def gunicorn_command(host: str, port: int, workers: int, threads: int = 4) -> list[str]:
    """How the app is served in production (the benchmark's load runs use it too)."""
    # Threaded workers: a whole-layer download streams for minutes, which a sync worker's
    # 30-second timeout would cut off, and one slow client must not hold a worker alone.
    # Idle connections are kept 75 s (as nginx keeps them): with gunicorn's 2 s, a client
    # that pauses about that long sends its next request as the server closes the socket,
    # and gets a reset (seen in the 50-client load run).
    return [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--timeout", "120", "--keep-alive", "75", "--access-logfile", "-",
            "mapping.wsgi:app"]


@main.group()
def users() -> None:
    """Manage editors and administrators."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["editor", "admin"]), default="editor", show_default=True)
@click.option("--name", default=None)
@click.password_option(prompt="Password (at least 12 characters)")
def users_add(email: str, role: str, name: str | None, password: str) -> None:
    """Add a user who can sign in (the password is asked for, or read from stdin)."""
    from sqlalchemy import create_engine

    from mapping.staff import accounts, audit

    engine = create_engine(_url())
    try:
        with engine.begin() as connection:
            user = accounts.add_user(connection, email, password, role, name)
            audit.record(connection, None, "create", "users", user.id, None,
                         audit.row_as_dict(connection, "users", "id", user.id))
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()
    click.echo(f"added {user.email} as {user.role}")


@users.command("token")
@click.argument("email")
@click.option("--name", default="API token", show_default=True, help="What the token is for.")
def users_token(email: str, name: str) -> None:
    """Make an API token for scripted imports; it is printed once and never stored."""
    from sqlalchemy import create_engine

    from mapping.staff import accounts

    engine = create_engine(_url())
    with engine.begin() as connection:
        user_id = accounts.user_id(connection, email)
        if user_id is None:
            raise click.ClickException(f"there is no user {email}")
        token = accounts.create_token(connection, user_id, name)
    engine.dispose()
    click.echo(token)


@main.command()
def stop() -> None:
    """Stop the embedded PostgreSQL cluster under var/."""
    from mapping.core import embedded

    settings = _settings()
    if embedded.stop(settings.var_dir):
        click.echo("embedded database stopped")
    else:
        click.echo("embedded database was not running")


def _loading_options(function):
    """Options every loader takes: what to do with bad rows, and how to report them."""
    for option in reversed([
        click.option("--dry-run", is_flag=True,
                     help="Check everything and say what would change; write nothing."),
        click.option("--skip-invalid", is_flag=True,
                     help="Load the good rows even if some are refused."),
        click.option("--format", "fmt", type=click.Choice(["csv", "json", "geojson", "shp", "gpkg"]),
                     help="The file's format, if its name does not say."),
        click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
                     help="Read FIELD from COLUMN (repeatable)."),
        click.option("--encoding", help="The text encoding, if not UTF-8 or Windows-1252."),
        click.option("--source", help="Name of this data source (default: the file's name)."),
        click.option("--problems", "problems_file", type=click.Path(dir_okay=False),
                     help="Write every problem found to this CSV file."),
        click.option("--show", default=20, show_default=True,
                     help="How many problems to print."),
    ]):
        function = option(function)
    return function


def _options(dry_run=False, skip_invalid=False, fmt=None, mapping=(), encoding=None,
             source=None, crs=None, **extra):
    from importers.base import Options, parse_crs
    from importers.fields import parse_mapping

    try:
        return Options.from_settings(
            _settings(), dry_run=dry_run, skip_invalid=skip_invalid, fmt=fmt,
            mapping=parse_mapping(mapping), encoding=encoding, source=source,
            crs=parse_crs(crs), progress=True, **extra)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


def _finish(report, problems_file=None, show=20) -> None:
    """Print the report; write the problems file; exit non-zero if nothing was loaded."""
    from importers.report import write_problems

    for line in report.lines(limit=show):
        click.echo(line)
    if problems_file:
        count = write_problems(report, problems_file)
        click.echo(f"  {count:,} problems written to {problems_file}")
    if not report.ok:
        sys.exit(1)

def _load(loader, *args, options, problems_file, show, **kwargs):
    """Run one importer on its own engine, then print its report and set the exit code."""
    engine = _engine()
    try:
        report = loader(engine, *args, _options(**options), **kwargs)
        _note_demo_places(engine, report)
        _audit_import(engine, report)
    finally:
        engine.dispose()
    _finish(report, problems_file, show)


def _audit_import(engine, report) -> None:
    """Every command-line import goes in the audit trail, under the operating-system user."""
    from pathlib import Path

    from importers.base import os_user
    from mapping.staff import audit

    with engine.begin() as connection:
        audit.record_import(connection, None, report,
                            file_name=Path(report.path).name if report.path else None,
                            kind=report.what, via="command line", actor=os_user())


def _engine():
    from sqlalchemy import create_engine

    return create_engine(_url())


@main.command("import")
@click.argument("kind", type=click.Choice(list(BY_COMMAND)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_loading_options
@click.option("--crs", help="The coordinates' CRS, e.g. EPSG:27700 (default: the file's, "
                            "or EPSG:4326 for latitude/longitude).")
@click.option("--prune", is_flag=True,
              help="Remove (soft-delete) this source's places that the file no longer has.")
@click.option("--precision", type=click.Choice(["exact", "street", "area"]),
              help="How exact the locations are, unless a column says (default: exact).")
@click.option("--contacts", type=click.Choice(["public", "private"]),
              help="Show phone and e-mail on the map (default: public, but private for "
                   "mutual aid groups).")
@click.option("--keep-outside", is_flag=True,
              help="Also load places more than DISTRICT_MARGIN_M beyond the wards (by "
                   "default they are left out), each with a warning.")
@click.option("--skip-outside", is_flag=True, hidden=True,
              help="What loads do by default now; accepted so old scripts still run.")
def import_places(kind, path, problems_file, show, prune, precision, contacts, keep_outside,
                  skip_outside, **options):
    """Load community assets, transferred buildings, mutual aid groups or hubs from PATH."""
    from importers.places import import_places as load

    if keep_outside and skip_outside:
        raise click.UsageError("--keep-outside and --skip-outside contradict each other")
    _load(load, kind, path, problems_file=problems_file, show=show,
          options={**options, "prune": prune, "precision": precision, "contacts": contacts,
                   "keep_outside": keep_outside})


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_loading_options
@click.option("--prune", is_flag=True,
              help="Remove (soft-delete) this source's opportunities that the file no longer "
                   "has.")
def opportunities(path, problems_file, show, prune, **options):
    """Load volunteering opportunities from PATH: one row per way to give back, with its
    place or organisation, initiative, time commitment, ages, skills and how to apply."""
    from importers.opportunities import import_opportunities

    _load(import_opportunities, path, options={**options, "prune": prune},
          problems_file=problems_file, show=show)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_loading_options
@click.option("--crs", help="The service areas' CRS, if the file does not say, e.g. EPSG:27700.")
@click.option("--prune", is_flag=True,
              help="Remove (soft-delete) this source's services that the file no longer has.")
def services(path, problems_file, show, prune, **options):
    """Load services (what is offered, by whom, where, when and for whom) from PATH: one row
    per service, with its place, organisation, area, opening hours, ages, cost and languages."""
    from importers.services import import_services

    _load(import_services, path, options={**options, "prune": prune},
          problems_file=problems_file, show=show)


@main.command()
@click.argument("kind", type=click.Choice(["wards", "neighbourhoods", "lsoas"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--code-field", help="The column holding each area's code, e.g. WD13CD.")
@click.option("--name-field", help="The column holding each area's name, e.g. WD13NM.")
@click.option("--vintage", help="The boundaries' year, e.g. 2013 (default: from the code field).")
@click.option("--crs", help="The file's CRS, if it does not say, e.g. EPSG:27700.")
@_loading_options
def boundaries(kind, path, code_field, name_field, vintage, problems_file, show, **options):
    """Load a whole set of wards, neighbourhoods or LSOAs; every place is reassigned."""
    from importers.boundaries import import_boundaries

    _load(import_boundaries, kind, path, options=options, problems_file=problems_file, show=show,
          code_field=code_field, name_field=name_field, vintage=vintage)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_loading_options
def deprivation(path, problems_file, show, **options):
    """Load IMD rank and decile by LSOA (the government's CSV, as published)."""
    from importers.statistics import import_deprivation

    _load(import_deprivation, path, options=options, problems_file=problems_file, show=show)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_loading_options
def population(path, problems_file, show, **options):
    """Load population by LSOA and age band; wards and neighbourhoods get the sums."""
    from importers.statistics import import_population

    _load(import_population, path, options=options, problems_file=problems_file, show=show)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--everywhere", is_flag=True,
              help="Keep every postcode in the file, not only those within DISTRICT_MARGIN_M "
                   "of the loaded wards (needs no wards).")
@click.option("--district", metavar="CODE",
              help="Keep the postcodes whose admin district code is CODE (e.g. E08000034) "
                   "instead of those near the wards.")
@_loading_options
def postcodes(path, everywhere, district, problems_file, show, **options):
    """Load postcode locations: ONS Postcode Directory or OS Code-Point Open CSV (or .zip);
    only the district's, within DISTRICT_MARGIN_M of the wards, are kept."""
    from importers.postcodes import import_postcodes

    if everywhere and district:
        raise click.UsageError("--everywhere and --district contradict each other")
    _load(import_postcodes, path, options=options, problems_file=problems_file, show=show,
          everywhere=everywhere, district=district)


@main.group()
def neighbourhoods() -> None:
    """Priority neighbourhoods."""


@neighbourhoods.command("from-imd")
@click.option("--deciles", default="1-2", show_default=True,
              help="IMD deciles to include (1 = the most deprived 10%% in England).")
@click.option("--tolerance", default=0.0, show_default=True,
              help="Metres between LSOAs that still count as touching.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
def neighbourhoods_from_imd(deciles, tolerance, dry_run):
    """Merge touching most-deprived LSOAs into named priority neighbourhoods."""
    from importers.neighbourhoods import derive_from_imd, parse_deciles

    try:
        parse_deciles(deciles)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    engine = _engine()
    try:
        report = derive_from_imd(engine, deciles, _options(dry_run=dry_run), tolerance)
        _note_demo_places(engine, report)
    finally:
        engine.dispose()
    _finish(report)


@neighbourhoods.command("names")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_loading_options
def neighbourhoods_names(path, problems_file, show, **options):
    """Give priority neighbourhoods the council's names: a CSV of code and name. The names
    stay when the neighbourhoods are derived again; an empty name takes one away."""
    from importers.area_names import import_area_names

    _load(import_area_names, "neighbourhoods", path, options=options,
          problems_file=problems_file, show=show)


if __name__ == "__main__":
    main()
