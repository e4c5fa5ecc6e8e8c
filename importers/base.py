"""The base importer every loader shares (the MapIt pattern): it owns the loop
read → normalise → validate → stage → merge, the one transaction, the import_runs
record and the report; each importer overrides a few hooks.

Rows are checked one by one in Python as they stream into a temporary table through
COPY; checks that need the database (postcodes, duplicates, boundaries) then run as
set-based SQL over the staged rows, and one set-based merge writes the result. Any
refused row means nothing is written unless `skip_invalid` is set.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from importers import VERSION
from importers.report import Report
from importers.sources import ROW_PROBLEM, Source, SourceError, open_source
from importers.staging import CopyWriter

STAGE = "import_stage"
# Files bigger than this get a progress bar on a terminal (bytes for CSV, rows otherwise).
BIG_FILE_BYTES = 5_000_000
BIG_FILE_ROWS = 20_000
NUMBERING = {"csv": "row 1 is the first row after the header",
             "json": "row 1 is the first record in the file",
             "geojson": "row 1 is the first feature in the file",
             "shp": "row 1 is the first feature in the file",
             "gpkg": "row 1 is the first feature in the file"}


@dataclass
class Options:
    """What the officer asked for; every importer reads the ones it understands."""
    source: str | None = None
    fmt: str | None = None
    crs: int | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    prune: bool = False
    precision: str | None = None
    contacts: str | None = None          # "public" or "private"; None: the kind's default
    # Places more than the margin beyond the wards are left out unless this is set.
    keep_outside: bool = False
    district_margin_m: float = 2000.0
    # A geometry with more vertices is refused (IMPORT_MAX_VERTICES's default here).
    max_vertices: int = 1_000_000
    run_by: str | None = None
    progress: bool = False

    @classmethod
    def from_settings(cls, settings, **options) -> Options:
        """What the officer asked for, with the deployment's limits from `settings`
        (mapping.core.config.Settings: DISTRICT_MARGIN_M, IMPORT_MAX_VERTICES); the CLI, the
        upload form and the demo all build their options here."""
        return cls(district_margin_m=settings.district_margin_m,
                   max_vertices=settings.import_max_vertices, **options)


def file_sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Importer:
    """Subclasses set `what` and `run_kind` and implement the hooks below."""

    what = ""                       # the report's name, e.g. "mutual-aid", "wards"
    run_kind = ""                   # import_runs.kind

    def __init__(self, engine: Engine | str, path, options: Options | None = None):
        self.engine = engine
        self.path = Path(path) if path is not None else None
        self.options = options or Options()
        self.report = Report(self.what, str(self.path) if self.path else None,
                             dry_run=self.options.dry_run,
                             skip_invalid=self.options.skip_invalid)
        self.source_name = self.options.source or self.default_source()
        self.report.source = self.source_name

    # --- hooks -------------------------------------------------------------------------

    def default_source(self) -> str:
        return self.path.stem if self.path else self.what

    def open_source(self) -> Source:
        return open_source(self.path, self.options.fmt, encoding=self.options.encoding,
                           crs=self.options.crs)

    def prepare(self, source: Source) -> None:
        """Match columns; call `self.report.fail(reason)` when the file cannot be used."""

    def stage_columns(self) -> list[tuple[str, str]]:
        """(name, SQL type) of the staging table, after row_number and valid."""
        raise NotImplementedError

    def normalise(self, number: int, row: dict) -> list | None:
        """The row's staged values, or None (after reporting why) when it is refused."""
        raise NotImplementedError

    def stage_from_database(self, connection) -> int:
        """For importers that derive rows in SQL instead of reading a file."""
        return 0

    def refused_values(self, number: int, row: dict) -> list:
        """What to stage for a refused row (e.g. its id, so --prune keeps its place)."""
        return [None] * len(self.stage_columns())

    def check(self, connection) -> None:
        """Set-based checks over the staged rows: use `refuse()` and `warn()`."""

    def merge(self, connection, run_id: int) -> dict:
        """Write the valid staged rows; return the counts for the report."""
        raise NotImplementedError

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> Report:
        started = time.perf_counter()
        owned = isinstance(self.engine, str)
        engine = create_engine(self.engine) if owned else self.engine
        try:
            source = None
            try:
                if self.path is not None:
                    source = self.open_source()
                    self.report.notes.extend(source.notes)
                    self.report.numbering = NUMBERING.get(source.format, NUMBERING["csv"])
                self.prepare(source)
            except SourceError as error:
                self.report.fail(str(error))
            if not self.report.fatal:
                self._transaction(engine, source)
            self.report.seconds = time.perf_counter() - started
            if self.report.status != "committed":
                self._record_outside(engine)
        finally:
            if owned:
                engine.dispose()
        return self.report

    def _transaction(self, engine: Engine, source: Source | None) -> None:
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                self._run_in(connection, source)
            except DBAPIError as error:
                transaction.rollback()
                reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                self.report.fail(f"the database refused the import: {reason}")
                return
            except SourceError as error:  # the file went bad part way through
                transaction.rollback()
                self.report.fail(str(error))
                return
            except BaseException:
                transaction.rollback()
                raise
            if self.report.status == "committed":
                transaction.commit()
            else:
                transaction.rollback()

    def _run_in(self, connection, source: Source | None) -> None:
        # An import may take minutes; the web app's statement timeout is for requests.
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text("SET LOCAL work_mem = '128MB'"))
        run_id = self._start_run(connection)
        columns = self.stage_columns()
        definitions = ["row_number integer PRIMARY KEY", "valid boolean NOT NULL",
                       "skipped boolean NOT NULL DEFAULT false",
                       *(f"{name} {sql_type}" for name, sql_type in columns)]
        connection.execute(text(
            f"CREATE TEMP TABLE {STAGE} ({', '.join(definitions)}) ON COMMIT DROP"))
        if source is not None:
            self._stage(connection, source, [name for name, _ in columns])
        else:
            self.report.rows = self.stage_from_database(connection)
        connection.execute(text(f"ANALYZE {STAGE}"))
        self.check(connection)
        if self.report.fatal:
            return
        self.report.invalid = connection.execute(text(
            f"SELECT count(*) FROM {STAGE} WHERE NOT valid")).scalar_one()
        if self.report.invalid and not self.options.skip_invalid:
            self.report.status = "failed"
            return
        self.report.counts = self.merge(connection, run_id)
        self.report.status = "dry-run" if self.options.dry_run else "committed"
        self.report.run_id = run_id
        self._finish_run(connection, run_id)

    def _stage(self, connection, source: Source, names: list[str]) -> None:
        dbapi = connection.connection.dbapi_connection
        bar = self._progress_bar(source)
        rows = 0
        with CopyWriter(dbapi, STAGE, ["row_number", "valid", *names]) as copy:
            for number, row in source.rows():
                rows += 1
                problem = row.get(ROW_PROBLEM)
                values = None
                if problem is not None:
                    self.report.error(number, None, problem)
                else:
                    values = self.normalise(number, row)
                if values is None:
                    copy.write([number, "f", *self.refused_values(number, row)])
                else:
                    copy.write([number, "t", *values])
                if bar is not None and rows % 5000 == 0:
                    bar.update(source.progress() - bar.n)
        if bar is not None:
            bar.update(source.progress() - bar.n)
            bar.close()
            print(f"read {rows:,} rows; checking and writing them...", file=sys.stderr)
        self.report.rows = rows

    def _progress_bar(self, source: Source):
        if not self.options.progress or not sys.stderr.isatty():
            return None
        by_bytes = source.format == "csv"
        if source.size < (BIG_FILE_BYTES if by_bytes else BIG_FILE_ROWS):
            return None
        from tqdm import tqdm

        return tqdm(total=source.size, unit="B" if by_bytes else " rows", unit_scale=True,
                    desc=f"reading {self.path.name}", file=sys.stderr, leave=False)

    # --- helpers for check() and merge() -----------------------------------------------

    def refuse(self, connection, query: str, params: dict | None = None) -> int:
        """Refuse the staged rows `query` selects as (row_number, field, reason)."""
        result = connection.execute(text(
            f"UPDATE {STAGE} s SET valid = false FROM ({query}) q "
            f"WHERE s.row_number = q.row_number AND s.valid "
            f"RETURNING q.row_number, q.field, q.reason"), params or {})
        count = 0
        for number, field_name, reason in result:
            self.report.error(number, field_name, reason)
            count += 1
        return count

    def warn(self, connection, query: str, params: dict | None = None) -> int:
        """Warn about the rows `query` selects as (row_number, field, reason)."""
        count = 0
        for number, field_name, reason in connection.execute(text(query), params or {}):
            self.report.warn(number, field_name, reason)
            count += 1
        return count

    def refuse_repeated_ids(self, connection, why: str = "") -> int:
        """Refuse each staged row whose `source_id` an earlier row has, naming that row
        (`why` says what a made-up id is made of)."""
        return self.refuse(connection, f"""
            SELECT row_number, 'source_id' AS field,
                   'the id ' || quote_literal(source_id) || ' is also on row '
                   || first_row || :why AS reason
              FROM (SELECT row_number, source_id,
                           min(row_number) OVER (PARTITION BY source_id) AS first_row
                      FROM {STAGE} WHERE source_id IS NOT NULL) d
             WHERE row_number > first_row""", {"why": why})

    def find_places(self, connection) -> None:
        """Each staged row's place (`place_ref` into `place_id`): its number, else its id
        in its own file, else its name; a reference that finds several places at the same
        rank, or none, is refused (services and opportunities name places this way)."""
        connection.execute(text(f"""
            CREATE TEMP TABLE import_place_match ON COMMIT DROP AS
            WITH found AS (
                SELECT s.row_number, p.id, 1 AS rank FROM {STAGE} s JOIN places p
                    ON p.id = CASE WHEN s.place_ref ~ '^[0-9]{{1,15}}$'
                                   THEN CAST(s.place_ref AS bigint) END
                 WHERE s.valid AND p.deleted_at IS NULL
                UNION ALL
                SELECT s.row_number, p.id, 2 FROM {STAGE} s JOIN places p
                    ON p.source_id = s.place_ref
                 WHERE s.valid AND p.deleted_at IS NULL
                UNION ALL
                SELECT s.row_number, p.id, 3 FROM {STAGE} s JOIN places p
                    ON lower(p.name) = lower(s.place_ref)
                 WHERE s.valid AND p.deleted_at IS NULL),
            best AS (SELECT row_number, min(rank) AS rank FROM found GROUP BY row_number)
            SELECT f.row_number, b.rank, array_agg(DISTINCT f.id ORDER BY f.id) AS ids
              FROM found f JOIN best b USING (row_number, rank)
             GROUP BY f.row_number, b.rank"""))
        self.refuse(connection, f"""
            SELECT s.row_number, 'place' AS field,
                   CASE WHEN m.ids IS NULL THEN 'no place on the map has the number, id or '
                        || 'name ' || quote_literal(s.place_ref)
                        ELSE cardinality(m.ids) || ' places have the '
                        || (ARRAY['number', 'id', 'name'])[m.rank] || ' '
                        || quote_literal(s.place_ref) || ' (numbers '
                        || array_to_string(m.ids[1:5], ', ')
                        || '); give the place''s number instead' END AS reason
              FROM {STAGE} s LEFT JOIN import_place_match m USING (row_number)
             WHERE s.valid AND s.place_ref IS NOT NULL
               AND (m.ids IS NULL OR cardinality(m.ids) > 1)""")
        connection.execute(text(f"""
            UPDATE {STAGE} s SET place_id = m.ids[1] FROM import_place_match m
             WHERE s.row_number = m.row_number AND s.valid"""))

    # --- provenance --------------------------------------------------------------------

    def _run_values(self) -> dict:
        return {"source": self.source_name, "kind": self.run_kind,
                "file_name": self.path.name if self.path else None,
                "sha256": file_sha256(self.path) if self.path else None,
                "run_by": self.options.run_by or os_user(), "version": VERSION}

    def _start_run(self, connection) -> int:
        return connection.execute(text(
            "INSERT INTO import_runs (source, kind, file_name, sha256, run_by, "
            "importer_version) VALUES (:source, :kind, :file_name, :sha256, :run_by, :version) "
            "RETURNING id"), self._run_values()).scalar_one()

    def _counts_for_run(self) -> dict:
        counts = self.report.counts
        return {"inserted": counts.get("inserted", 0), "updated": counts.get("updated", 0),
                "unchanged": counts.get("unchanged", 0),
                "pruned": counts.get("pruned", counts.get("removed", 0)),
                "invalid": self.report.invalid, "warnings": self.report.warnings,
                "status": self.report.status, "report": json.dumps(self.report.as_dict())}

    def _finish_run(self, connection, run_id: int) -> None:
        connection.execute(text(
            "UPDATE import_runs SET finished_at = clock_timestamp(), status = :status, "
            "inserted = :inserted, updated = :updated, unchanged = :unchanged, pruned = :pruned, "
            "invalid = :invalid, warnings = :warnings, report = CAST(:report AS jsonb) "
            "WHERE id = :id"), {**self._counts_for_run(), "id": run_id})

    def _record_outside(self, engine: Engine) -> None:
        """A failed or dry run leaves the data alone but is still logged in import_runs."""
        with engine.begin() as connection:
            self.report.run_id = connection.execute(text(
                "INSERT INTO import_runs (source, kind, file_name, sha256, run_by, "
                "importer_version, finished_at, status, inserted, updated, unchanged, "
                "pruned, invalid, warnings, report) VALUES (:source, :kind, :file_name, "
                ":sha256, :run_by, :version, clock_timestamp(), :status, :inserted, :updated, "
                ":unchanged, :pruned, :invalid, :warnings, CAST(:report AS jsonb)) "
                "RETURNING id"), {**self._run_values(), **self._counts_for_run()}).scalar_one()


def os_user() -> str:
    """Who ran the command: the person behind sudo when there is one, else the login."""
    if sudo_user := os.environ.get("SUDO_USER", "").strip():
        return sudo_user
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def parse_crs(value: str | None) -> int | None:
    """"EPSG:27700", "27700" or "urn:ogc:def:crs:EPSG::27700" → 27700; CRS84 → 4326."""
    if value is None or not str(value).strip():
        return None
    cell = str(value).strip().upper()
    if cell in ("CRS84", "OGC:CRS84", "WGS84"):
        return 4326
    digits = cell.rsplit(":", 1)[-1]
    if not digits.isdigit():
        raise ValueError(f"--crs {value!r}: write an EPSG code, e.g. EPSG:27700")
    return int(digits)
