"""The audit trail: who changed what, when, and the record before and after (its SQL is
in store.py)."""
from __future__ import annotations

from mapping.staff import store


def record(connection, user, action: str, table: str, record_id, before=None, after=None) -> None:
    store.add_audit(connection, user_id=getattr(user, "id", None),
                    actor=getattr(user, "email", "system"), action=action, table=table,
                    record_id=record_id, before=before, after=after)


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


def latest(connection, limit: int = 200) -> list:
    """The newest entries of the audit trail, newest first."""
    return store.audit_latest(connection, limit)
