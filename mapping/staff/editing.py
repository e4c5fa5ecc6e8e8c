"""The editors' reads and writes of places and residents' reports: the SQL behind the
editor pages (editors.py) and the report form (reports.py), which hold none of their own.

Editors see the `places` table itself, hidden places and private details included; the
public never reads through here (its reads are in queries.py and layers/, on the view
`published_places`). Each function runs in the caller's transaction, so a change and its
audit record commit together."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from layers.kinds import KINDS

STALE = text("""
    SELECT id, kind, name, last_verified, ward_code, deleted_at IS NOT NULL AS hidden
      FROM places
     WHERE last_verified IS NULL OR last_verified < CAST(:cutoff AS date)
     ORDER BY last_verified NULLS FIRST, name
     LIMIT 200
""")
# Places no ward holds: loaded from the margin around the district, or kept from outside it.
OUTSIDE_WARDS = text("""
    SELECT id, kind, name, source, count(*) OVER () AS total
      FROM places
     WHERE ward_code IS NULL AND deleted_at IS NULL
     ORDER BY name, id
     LIMIT 200
""")
OPEN_REPORTS = text("""
    SELECT r.id, r.place_id, p.name, r.reason, r.details, r.created_at
      FROM listing_reports r JOIN places p ON p.id = r.place_id
     WHERE r.resolved_at IS NULL ORDER BY r.created_at LIMIT 200
""")
PLACE = text("""
    SELECT *, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat
      FROM places WHERE id = :id
""")


def dashboard(connection, cutoff: dt.date) -> dict:
    """What editors see first: listings not verified since `cutoff`, residents' open
    reports, and the places no ward holds."""
    return {
        "stale": connection.execute(STALE, {"cutoff": cutoff}).mappings().all(),
        "reports": connection.execute(OPEN_REPORTS).mappings().all(),
        "outside": connection.execute(OUTSIDE_WARDS).mappings().all(),
    }


def place(connection, place_id: int):
    """The whole row, with a point on its surface as lon and lat; None if there is none."""
    return connection.execute(PLACE, {"id": place_id}).mappings().first()


def update_place(connection, place_id: int, values: dict) -> None:
    """Write `values` (column: value; the columns are the editor form's own names), only
    when one of them really changes, so the row's update time stays true."""
    assignments = ", ".join(f"{k} = :{k}" for k in values)
    changed = " OR ".join(f"{k} IS DISTINCT FROM :{k}" for k in values)
    connection.execute(text(f"UPDATE places SET {assignments} WHERE id = :id AND ({changed})"),
                       {**values, "id": place_id})


def set_hidden(connection, place_id: int, hidden: bool) -> None:
    """Hide the place from the public (a soft delete) or show it again."""
    connection.execute(text(
        "UPDATE places SET deleted_at = CASE WHEN :hidden THEN now() ELSE NULL END "
        "WHERE id = :id AND (deleted_at IS NULL) = :hidden"), {"hidden": hidden, "id": place_id})


def add_place(connection, kind: str, values: dict, lon: float, lat: float) -> int:
    """A new place of `kind` at lon, lat, verified today, with its (empty) detail row and
    its ward, LSOA and neighbourhoods; its id."""
    place_id = connection.execute(text(
        "INSERT INTO places (kind, source, source_id, " + ", ".join(values) + ", geom, "
        "last_verified) VALUES (:kind, 'editor', gen_random_uuid()::text, "
        + ", ".join(f":{k}" for k in values)
        + ", ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), current_date) RETURNING id"),
        {**values, "kind": kind, "lon": lon, "lat": lat}).scalar_one()
    connection.execute(text(f"INSERT INTO {KINDS[kind].table} (place_id) VALUES (:id)"),
                       {"id": place_id})
    connection.execute(text("SELECT assetmap_assign_areas()"))
    return place_id


def add_report(connection, place_id: int, reason: str, details: str | None) -> None:
    """A resident's report that a listing is wrong."""
    connection.execute(text(
        "INSERT INTO listing_reports (place_id, reason, details) VALUES (:p, :r, :d)"),
        {"p": place_id, "r": reason, "d": details})


def resolve_report(connection, report_id: int, user_id: int) -> None:
    connection.execute(text(
        "UPDATE listing_reports SET resolved_at = now(), resolved_by = :u "
        "WHERE id = :id AND resolved_at IS NULL"), {"id": report_id, "u": user_id})
