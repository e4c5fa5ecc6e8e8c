"""The audit trail: who changed what, when, and the record before and after."""
from __future__ import annotations

import json

from sqlalchemy import text


def record(connection, user, action: str, table: str, record_id, before=None, after=None) -> None:
    connection.execute(text(
        "INSERT INTO audit_log (user_id, actor, action, table_name, record_id, before, after) "
        "VALUES (:user_id, :actor, :action, :table, :record_id, CAST(:before AS jsonb), "
        "CAST(:after AS jsonb))"),
        {"user_id": getattr(user, "id", None), "actor": getattr(user, "email", "system"),
         "action": action, "table": table, "record_id": None if record_id is None else str(record_id),
         "before": None if before is None else json.dumps(before, default=str),
         "after": None if after is None else json.dumps(after, default=str)})


def row_as_dict(connection, table: str, key: str, value) -> dict | None:
    """The row as JSON (geometry as GeoJSON), for the before/after of an audit entry."""
    allowed = {"places": "id", "users": "id", "listing_reports": "id", "api_tokens": "id"}
    if allowed.get(table) != key:
        raise ValueError(f"no audit snapshot for {table}.{key}")
    row = connection.execute(text(
        f"SELECT to_jsonb(t) - 'password_hash' - 'token_hash' - 'geom_bng' AS j FROM {table} t "
        f"WHERE {key} = :v"), {"v": value}).scalar()
    return row


def latest(connection, limit: int = 200) -> list:
    """The newest entries of the audit trail, newest first."""
    return connection.execute(text(
        "SELECT id, at, actor, action, table_name, record_id, before, after FROM audit_log "
        "ORDER BY id DESC LIMIT :limit"), {"limit": limit}).mappings().all()
