"""The audit trail: who changed what, when, and the record before and after (its SQL is
in store.py)."""
from __future__ import annotations

from mapping.staff import store


def record(connection, user, action: str, table: str, record_id, before=None, after=None,
           actor: str | None = None) -> None:
    """One entry; `actor` names who did it when there is no signed-in `user` (the
    operating-system user of a command)."""
    store.add_audit(connection, user_id=getattr(user, "id", None),
                    actor=actor or getattr(user, "email", "system"), action=action,
                    table=table, record_id=record_id, before=before, after=after)


IMPORT_ACTIONS = {"committed": "import", "dry-run": "dry run", "failed": "import refused"}


def record_import(connection, user, report, *, file_name: str | None, kind: str | None,
                  via: str, actor: str | None = None, reason: str | None = None,
                  skip_invalid: bool | None = None) -> None:
    """Every import, whatever became of it: its file, counts and run (whose page shows
    the report). `report` None with a `reason`: the upload was refused before any run.
    `skip_invalid`: what the editor asked, when it differs from what the run did (a
    dry run on the form always counts the good rows)."""
    after = {"file": file_name, "kind": kind, "via": via}
    if report is None:
        after.update(status="refused", reason=reason)
        record(connection, user, "import refused", "import_runs", None, None, after, actor)
        return
    after.update(source=report.source, status=report.status, counts=report.counts,
                 rows=report.rows, invalid=report.invalid, warnings=report.warnings,
                 skip_invalid=report.skip_invalid if skip_invalid is None else skip_invalid)
    if report.fatal:
        after["reason"] = report.fatal
    record(connection, user, IMPORT_ACTIONS.get(report.status, "import refused"),
           "import_runs", report.run_id, None, after, actor)


def changed(connection, user, action: str, table: str, record_id, change) -> bool:
    """Run `change()` and record it with the row before and after (nothing is recorded when
    the row stayed the same); False, and nothing run, when there is no such row."""
    before = row_as_dict(connection, table, "id", record_id)
    if before is None:
        return False
    change()
    after = row_as_dict(connection, table, "id", record_id)
    if before != after:
        record(connection, user, action, table, record_id, before, after)
    return True


def row_as_dict(connection, table: str, key: str, value) -> dict | None:
    """The row as JSON (geometry as GeoJSON), for the before/after of an audit entry."""
    return store.row_snapshot(connection, table, key, value)


def for_record(connection, table: str, record_id) -> list:
    """The entries about one record, oldest first."""
    return store.audit_for_record(connection, table, record_id)


def latest(connection, limit: int = 200) -> list:
    """The newest entries of the audit trail, newest first."""
    return store.audit_latest(connection, limit)
