"""Import runs as editors see them: one run's record and report, the latest runs, and
undoing a run of places (its SQL is in store.py).

Undo removes the places the run inserted and puts back, from the before-images the
database kept (migration 0011), the places it updated, restored or pruned, with their
details. The rule: a run can be undone only while every place it wrote is as it left it.
If an editor or a later import has changed one since, or something now hangs on a place
it inserted (a service, an opportunity, an outcome), the undo is refused and names those
places; nothing is changed. Undoing the later import first puts its places back as this
run left them, and then this run can be undone too (newest first, as with any undo).
Only runs of places can be undone, and each only once."""
from __future__ import annotations

from dataclasses import dataclass

from importers import schedules
from layers.kinds import KINDS
from mapping.staff import store

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
    return store.import_run(connection, run_id)


def latest(connection, limit: int = 20) -> list:
    """The newest import runs, newest first."""
    return store.latest_import_runs(connection, limit)


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


def undo(connection, run_id: int, actor: str) -> Undone:
    """Undo import run `run_id` in the caller's transaction, or raise UndoRefused."""
    record = store.lock_import_run(connection, run_id)
    if record is None:
        raise LookupError(run_id)
    if (why := can_undo(record)) is not None:
        raise UndoRefused(f"Run {run_id} cannot be undone: {why}.")
    conflicts = store.undo_conflicts(connection, run_id)
    if conflicts:
        raise UndoRefused(
            f"Run {run_id} cannot be undone: {len(conflicts):,} of the places it wrote "
            f"{'has' if len(conflicts) == 1 else 'have'} been changed since, so undoing it "
            f"would throw that work away. Change them back, or edit the places by hand.",
            [tuple(row) for row in conflicts])
    removed, restored = store.put_back_before_run(connection, run_id, DETAIL_TABLES)
    # The opening hours put back are parsed again; a removed place's go with it.
    schedules.refresh(connection)
    store.mark_undone(connection, run_id, actor)
    return Undone(removed=removed, restored=restored)
