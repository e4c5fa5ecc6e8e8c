"""Import runs as editors see them: one run's record and report, the latest runs, and
undoing a run of places.

Undo removes the places the run inserted and puts back, from the before-images the
database kept (migration 0011), the places it updated, restored or pruned, with their
details. The rule: a run can be undone only while every place it wrote is as it left it.
If an editor or a later import has changed one since, or something now hangs on a place
it inserted (a service, an opportunity, an outcome), the undo is refused and names those
places; nothing is changed. Undoing the later import first puts its places back as this
run left them, and then this run can be undone too (newest first, as with any undo). Only runs of places can be
undone, and each only once."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from importers import schedules
from layers.kinds import BY_COMMAND, KINDS

PLACE_RUN_KINDS = tuple(KINDS)
DETAIL_TABLES = tuple(kind.table for kind in KINDS.values())
SHOWN_CONFLICTS = 20


class UndoRefused(Exception):
    """The run cannot be undone; `conflicts` are (place id, name, why) when rows are to blame."""

    def __init__(self, reason: str, conflicts: list | None = None):
        super().__init__(reason)
        self.conflicts = conflicts or []


@dataclass
class Undone:
    removed: int
    restored: int


def run(connection, run_id: int):
    """The import run with its stored report; None when there is none."""
    return connection.execute(text(
        "SELECT id, source, kind, file_name, run_by, started_at, finished_at, status, inserted, "
        "updated, unchanged, pruned, invalid, warnings, report, undone_at, undone_by "
        "FROM import_runs WHERE id = :id"), {"id": run_id}).mappings().first()


def latest(connection, limit: int = 20) -> list:
    """The newest import runs, newest first."""
    return connection.execute(text(
        "SELECT id, source, kind, file_name, run_by, started_at, status, inserted, updated, "
        "pruned, invalid, undone_at FROM import_runs ORDER BY id DESC LIMIT :limit"),
        {"limit": limit}).mappings().all()


def can_undo(record) -> str | None:
    """Why the run cannot be undone at all, or None when undo may be tried."""
    if record["undone_at"] is not None:
        return f"it was undone on {record['undone_at']:%-d %b %Y at %H:%M} by {record['undone_by']}"
    if record["status"] != "committed":
        return "it wrote nothing (" + {"dry-run": "a dry run", "failed": "it failed"}.get(
            record["status"], record["status"]) + ")"
    if record["kind"] not in PLACE_RUN_KINDS:
        return (f"only imports of places can be undone here; this run loaded "
                f"{record['kind'].replace('_', ' ')}")
    return None


def kind_command(kind: str) -> str | None:
    """The upload form's name for an import_runs.kind (community_asset → assets)."""
    return next((command for command, k in BY_COMMAND.items() if k.id == kind), None)


CONFLICTS = text("""
    WITH written AS (
        SELECT record_id::bigint AS id FROM import_run_rows
         WHERE run_id = :run AND table_name = 'places'
        UNION
        SELECT id FROM places WHERE import_run_id = :run
        UNION  -- places the run inserted that a later run has written over since
        SELECT record_id::bigint FROM import_run_rows
         WHERE run_id > :run AND table_name = 'places'
           AND (before->>'import_run_id')::bigint = :run
    ), inserted AS (
        SELECT id FROM places WHERE import_run_id = :run
        EXCEPT SELECT record_id::bigint FROM import_run_rows
         WHERE run_id = :run AND table_name = 'places'
    ), state AS (
        SELECT w.id, p.id IS NOT NULL AS present, p.import_run_id, p.updated_at,
               coalesce(p.name, b.before->>'name') AS name,
               -- Changed since the run, unless the change was the undo of a later run
               -- that put back the row as this run left it.
               p.updated_at > r.finished_at AND NOT EXISTS (
                   SELECT 1 FROM import_run_rows u JOIN import_runs ur ON ur.id = u.run_id
                    WHERE u.table_name = 'places' AND u.record_id = w.id::text
                      AND ur.undone_at = p.updated_at
                      AND (u.before->>'import_run_id')::bigint = :run
                      AND (u.before->>'updated_at')::timestamptz <= r.finished_at) AS changed,
               w.id IN (SELECT id FROM inserted) AND (
                   EXISTS (SELECT 1 FROM services s WHERE s.place_id = w.id)
                   OR EXISTS (SELECT 1 FROM opportunities o WHERE o.place_id = w.id)
                   OR EXISTS (SELECT 1 FROM outcomes o WHERE o.place_id = w.id)) AS in_use
          FROM written w CROSS JOIN import_runs r
          LEFT JOIN places p ON p.id = w.id
          LEFT JOIN import_run_rows b ON b.run_id = :run AND b.table_name = 'places'
                                     AND b.record_id = w.id::text
         WHERE r.id = :run
    )
    SELECT id, name, CASE
             WHEN NOT present THEN 'removed since'
             WHEN import_run_id IS DISTINCT FROM :run THEN
                  coalesce('written since by import run ' || import_run_id, 'changed since')
             WHEN changed THEN
                  'changed since, on ' || to_char(updated_at AT TIME ZONE 'Europe/London',
                                                  'FMDD Mon YYYY "at" HH24:MI')
             ELSE 'services, opportunities or outcomes have been added to it since'
           END AS why
      FROM state
     WHERE NOT present OR import_run_id IS DISTINCT FROM :run OR changed OR in_use
     ORDER BY id
""")


def _columns(connection, table: str) -> list[str]:
    """The columns a before-image restores: all but the key and the generated ones."""
    return connection.execute(text(
        "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
        "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attname NOT IN "
        "('id', 'place_id') ORDER BY attnum"), {"t": table}).scalars().all()


def undo(connection, run_id: int, actor: str) -> Undone:
    """Undo import run `run_id` in the caller's transaction, or raise UndoRefused."""
    record = connection.execute(text(
        "SELECT id, kind, status, undone_at, undone_by FROM import_runs WHERE id = :id "
        "FOR UPDATE"), {"id": run_id}).mappings().first()
    if record is None:
        raise LookupError(run_id)
    if (why := can_undo(record)) is not None:
        raise UndoRefused(f"Run {run_id} cannot be undone: {why}.")
    # No edit or import may slip in between the check and the undo.
    connection.execute(text("LOCK TABLE places IN SHARE ROW EXCLUSIVE MODE"))
    conflicts = connection.execute(CONFLICTS, {"run": run_id}).all()
    if conflicts:
        raise UndoRefused(
            f"Run {run_id} cannot be undone: {len(conflicts):,} of the places it wrote "
            f"{'has' if len(conflicts) == 1 else 'have'} been changed since, so undoing it "
            f"would throw that work away. Change them back, or edit the places by hand.",
            [tuple(row) for row in conflicts])
    params = {"run": run_id}
    # Rows put back carry an older run's id; they are not that run's to copy again.
    connection.execute(text("SET LOCAL assetmap.undoing = 'on'"))
    removed = connection.execute(text("""
        DELETE FROM places p WHERE p.import_run_id = :run AND NOT EXISTS (
            SELECT 1 FROM import_run_rows b WHERE b.run_id = :run
               AND b.table_name = 'places' AND b.record_id = p.id::text)"""), params).rowcount
    columns = _columns(connection, "places")
    restored = connection.execute(text(
        f"UPDATE places p SET ({', '.join(columns)}) = "
        f"({', '.join('r.' + c for c in columns)}) FROM import_run_rows b "
        f"CROSS JOIN LATERAL jsonb_populate_record(NULL::places, b.before) r "
        f"WHERE b.run_id = :run AND b.table_name = 'places' AND p.id = b.record_id::bigint"),
        params).rowcount
    for table in DETAIL_TABLES:
        detail = _columns(connection, table)
        connection.execute(text(
            f"DELETE FROM {table} d USING import_run_rows b WHERE b.run_id = :run "
            f"AND b.table_name = '{table}' AND b.before IS NULL "
            f"AND d.place_id = b.record_id::bigint"), params)
        update = (f"DO UPDATE SET ({', '.join(detail)}) = "
                  f"({', '.join('EXCLUDED.' + c for c in detail)})" if detail else "DO NOTHING")
        connection.execute(text(
            f"INSERT INTO {table} (place_id{''.join(', ' + c for c in detail)}) "
            f"SELECT r.place_id{''.join(', r.' + c for c in detail)} FROM import_run_rows b "
            f"CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, b.before) r "
            f"WHERE b.run_id = :run AND b.table_name = '{table}' AND b.before IS NOT NULL "
            f"ON CONFLICT (place_id) {update}"), params)
    # The opening hours put back are parsed again; a removed place's go with it.
    schedules.refresh(connection)
    connection.execute(text("SET LOCAL assetmap.undoing = 'off'"))
    connection.execute(text(
        "UPDATE import_runs SET undone_at = now(), undone_by = :actor WHERE id = :run"),
        {**params, "actor": actor})
    return Undone(removed=removed, restored=restored)
