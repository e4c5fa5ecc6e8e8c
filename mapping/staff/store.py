"""Every statement the staff side runs: editors' reads and writes of places and residents'
reports, users and API tokens (for accounts.py), the audit trail (for audit.py), and
import runs and undoing them (for runs.py). The pages, accounts.py, audit.py and runs.py
hold no SQL of their own.

Editors see the `places` table itself, hidden places and private details included; the
public never reads through here (its reads are in queries.py and layers/, on the view
`published_places`). Each function runs in the caller's transaction, so a change and its
audit record commit together."""
from __future__ import annotations

import datetime as dt
import json

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


# -- a place's services (importers/services.py checks the values) ------------------------

SERVICE_COLUMNS = ("name", "description", "url", "email", "status", "minimum_age",
                   "maximum_age", "free", "cost", "languages", "accessibility", "categories",
                   "schedule_text")


def place_services(connection, place_id: int) -> list:
    """The place's own services, removed ones last."""
    return connection.execute(text(
        "SELECT id, name, status, schedule_text, deleted_at IS NOT NULL AS removed "
        "FROM services WHERE place_id = :id ORDER BY deleted_at NULLS FIRST, name, id"),
        {"id": place_id}).mappings().all()


def service(connection, service_id: str):
    """The service with the ward codes of its area (when its area is made of wards)."""
    return connection.execute(text(
        "SELECT s.*, coalesce(a.area_codes, '{}') AS ward_codes, a.area_kind, "
        "a.id IS NOT NULL AS has_area, o.name AS organisation, "
        "o.website AS organisation_website FROM services s "
        "LEFT JOIN service_areas a ON a.service_id = s.id "
        "LEFT JOIN organisations o ON o.id = s.organisation_id "
        "WHERE s.id = CAST(:id AS uuid)"),
        {"id": service_id}).mappings().first()


def wards(connection) -> list:
    return connection.execute(text(
        "SELECT code, name FROM areas WHERE kind = 'ward' ORDER BY name")).all()


def save_service(connection, service_id: str | None, place_id: int | None, values: dict,
                 ward_codes: list[str] | None) -> str:
    """Add (service_id None) or change a service; with `ward_codes`, its area becomes those
    wards (none: no area); None leaves a drawn or imported area alone. Its id."""
    columns = [c for c in SERVICE_COLUMNS if c in values]
    if "organisation" in values:
        values = {**values, "organisation_id": _organisation(
            connection, values["organisation"], values.get("organisation_website"))}
        columns.append("organisation_id")
    if service_id is None:
        service_id = connection.execute(text(
            "WITH k AS (SELECT gen_random_uuid()::text AS key) "
            "INSERT INTO services (id, source, source_id, place_id, " + ", ".join(columns)
            + ") SELECT assetmap_uuid('service:editor:' || k.key), 'editor', k.key, :place, "
            + ", ".join(f":{c}" for c in columns) + " FROM k RETURNING id"),
            {**values, "place": place_id}).scalar_one()
    else:
        _update_changed(connection, "services", "CAST(:id AS uuid)", columns, values,
                        service_id)
    if ward_codes is not None:
        _set_ward_area(connection, str(service_id), sorted(set(ward_codes)))
    return str(service_id)


def _update_changed(connection, table: str, key: str, columns: list[str], values: dict,
                    record_id) -> None:
    """Write `columns` of the record whose id is `record_id` (`key`: the bound id as
    the table's type), and touch updated_at, only when a value really changes (so an
    unchanged save leaves the data version, and every ETag, alone)."""
    connection.execute(text(
        f"UPDATE {table} SET " + ", ".join(f"{c} = :{c}" for c in columns)
        + f", updated_at = now() WHERE id = {key} AND ("
        + " OR ".join(f"{c} IS DISTINCT FROM :{c}" for c in columns) + ")"),
        {**values, "id": record_id})


def _organisation(connection, name: str | None, website: str | None) -> str | None:
    """The editors' organisation of that name (made on first use, its website updated when
    one is given); None: the service is run by its place's organisation."""
    if name is None:
        return None
    return str(connection.execute(text(
        "INSERT INTO organisations AS o (id, source, source_id, name, website) VALUES "
        "(assetmap_uuid('organisation:editor:' || lower(:name)), 'editor', lower(:name), "
        ":name, :website) ON CONFLICT (source, source_id) DO UPDATE SET name = EXCLUDED.name, "
        "website = coalesce(EXCLUDED.website, o.website), deleted_at = NULL, updated_at = now() "
        "RETURNING id"), {"name": name, "website": website}).scalar_one())


def _set_ward_area(connection, service_id: str, codes: list[str]) -> None:
    same = connection.execute(text(
        "SELECT coalesce((SELECT area_kind = 'ward' AND area_codes = CAST(:codes AS text[]) "
        "FROM service_areas WHERE service_id = CAST(:id AS uuid)), cardinality("
        "CAST(:codes AS text[])) = 0)"), {"id": service_id, "codes": codes}).scalar()
    if same:
        return
    connection.execute(text("DELETE FROM service_areas WHERE service_id = CAST(:id AS uuid)"),
                       {"id": service_id})
    if codes:
        connection.execute(text(
            "INSERT INTO service_areas (id, service_id, name, area_kind, area_codes, geom) "
            "SELECT assetmap_uuid('service_area:' || :id), CAST(:id AS uuid), "
            "string_agg(name, ', ' ORDER BY name), 'ward', array_agg(code ORDER BY code), "
            "ST_Multi(ST_Union(geom)) FROM areas "
            "WHERE kind = 'ward' AND code = ANY(CAST(:codes AS text[]))"),
            {"id": service_id, "codes": codes})
    connection.execute(text("UPDATE services SET updated_at = now() WHERE id = CAST(:id AS uuid)"),
                       {"id": service_id})


def set_service_removed(connection, service_id: str, removed: bool) -> None:
    connection.execute(text(
        "UPDATE services SET deleted_at = CASE WHEN :removed THEN now() END, updated_at = now() "
        "WHERE id = CAST(:id AS uuid) AND (deleted_at IS NULL) = :removed"),
        {"id": service_id, "removed": removed})


# -- volunteering opportunities and outcomes (importers/opportunities.py, outcomes.py) ------

OPPORTUNITY_COLUMNS = ("title", "description", "initiative_id", "commitment",
                       "hours_per_week", "schedule_text", "days", "starts_on", "closes_on",
                       "minimum_age", "dbs_check", "skills", "accessibility", "apply_url",
                       "apply_email", "apply_phone")


def place_opportunities(connection, place_id: int) -> list:
    """The place's opportunities, open ones first, then closed, then removed."""
    return connection.execute(text(
        "SELECT id, title, closes_on, leaves_on <= assetmap_london_today() AS closed, "
        "deleted_at IS NOT NULL AS removed FROM opportunities WHERE place_id = :id "
        "ORDER BY deleted_at NULLS FIRST, leaves_on <= assetmap_london_today() NULLS FIRST, "
        "title, id"), {"id": place_id}).mappings().all()


def opportunity(connection, opportunity_id: str):
    return connection.execute(text(
        "SELECT o.*, o.leaves_on <= assetmap_london_today() AS closed, "
        "p.email AS place_email, p.email_public AS place_email_public, "
        "p.phone AS place_phone, p.phone_public AS place_phone_public "
        "FROM opportunities o LEFT JOIN places p ON p.id = o.place_id "
        "WHERE o.id = CAST(:id AS uuid)"), {"id": opportunity_id}).mappings().first()


def initiatives(connection) -> list:
    return connection.execute(text(
        "SELECT id, name, target_group FROM initiatives ORDER BY name")).mappings().all()


def save_opportunity(connection, opportunity_id: str | None, place_id: int,
                     values: dict) -> str:
    """Add (opportunity_id None) or change an opportunity at a place; its id."""
    columns = [c for c in OPPORTUNITY_COLUMNS if c in values]
    if opportunity_id is None:
        return str(connection.execute(text(
            "WITH k AS (SELECT gen_random_uuid()::text AS key) "
            "INSERT INTO opportunities (id, source, source_id, place_id, " + ", ".join(columns)
            + ") SELECT assetmap_uuid('opportunity:editor:' || k.key), 'editor', k.key, "
            ":place, " + ", ".join(f":{c}" for c in columns) + " FROM k RETURNING id"),
            {**values, "place": place_id}).scalar_one())
    _update_changed(connection, "opportunities", "CAST(:id AS uuid)", columns, values,
                    opportunity_id)
    return opportunity_id


def set_opportunity_removed(connection, opportunity_id: str, removed: bool) -> None:
    connection.execute(text(
        "UPDATE opportunities SET deleted_at = CASE WHEN :removed THEN now() END, "
        "updated_at = now() WHERE id = CAST(:id AS uuid) AND (deleted_at IS NULL) = :removed"),
        {"id": opportunity_id, "removed": removed})


OUTCOME_COLUMNS = ("initiative_id", "period_start", "period_end", "place_id", "ward_code",
                   "people_supported", "sessions_held", "volunteers", "volunteer_hours",
                   "measure", "better", "measured_people", "score_before", "score_after",
                   "notes")


def outcomes(connection) -> list:
    """Every recorded outcome, as editors see them (unsuppressed), newest period first."""
    return connection.execute(text(
        "SELECT o.*, i.name AS initiative_name, p.name AS place_name, w.name AS ward_name, "
        "o.deleted_at IS NOT NULL AS removed FROM outcomes o "
        "JOIN initiatives i ON i.id = o.initiative_id "
        "LEFT JOIN places p ON p.id = o.place_id "
        "LEFT JOIN areas w ON w.kind = 'ward' AND w.code = o.ward_code "
        "ORDER BY o.deleted_at NULLS FIRST, o.period_end DESC, i.name, o.id")).mappings().all()


def outcome(connection, outcome_id: int):
    return connection.execute(text("SELECT * FROM outcomes WHERE id = :id"),
                              {"id": outcome_id}).mappings().first()


def place_exists(connection, place_id: int) -> bool:
    return bool(connection.execute(text(
        "SELECT EXISTS (SELECT 1 FROM places WHERE id = :id AND deleted_at IS NULL)"),
        {"id": place_id}).scalar())


def same_outcome(connection, values: dict, outcome_id: int | None) -> int | None:
    """Another live record of the same initiative, period and place or ward, if any."""
    return connection.execute(text(
        "SELECT id FROM outcomes WHERE deleted_at IS NULL AND initiative_id = :initiative_id "
        "AND period_start = :period_start AND period_end = :period_end "
        "AND place_id IS NOT DISTINCT FROM :place_id AND ward_code IS NOT DISTINCT FROM "
        "CAST(:ward_code AS text) AND id IS DISTINCT FROM :id LIMIT 1"),
        {**values, "id": outcome_id}).scalar()


def save_outcome(connection, outcome_id: int | None, values: dict, recorded_by: str) -> int:
    columns = list(OUTCOME_COLUMNS)
    if outcome_id is None:
        return connection.execute(text(
            "INSERT INTO outcomes (" + ", ".join(columns) + ", recorded_by) VALUES ("
            + ", ".join(f":{c}" for c in columns) + ", :by) RETURNING id"),
            {**values, "by": recorded_by}).scalar_one()
    _update_changed(connection, "outcomes", ":id", columns, values, outcome_id)
    return outcome_id


def set_outcome_removed(connection, outcome_id: int, removed: bool) -> None:
    connection.execute(text(
        "UPDATE outcomes SET deleted_at = CASE WHEN :removed THEN now() END, updated_at = now() "
        "WHERE id = :id AND (deleted_at IS NULL) = :removed"),
        {"id": outcome_id, "removed": removed})


def add_report(connection, place_id: int, reason: str, details: str | None) -> None:
    """A resident's report that a listing is wrong."""
    connection.execute(text(
        "INSERT INTO listing_reports (place_id, reason, details) VALUES (:p, :r, :d)"),
        {"p": place_id, "r": reason, "d": details})


def resolve_report(connection, report_id: int, user_id: int) -> None:
    connection.execute(text(
        "UPDATE listing_reports SET resolved_at = now(), resolved_by = :u "
        "WHERE id = :id AND resolved_at IS NULL"), {"id": report_id, "u": user_id})


# -- users and API tokens (accounts.py keeps the rules: e-mail, roles, hashing) --------

USER_COLUMNS = "id, email, name, role, active"


def user_exists(connection, email: str) -> bool:
    return connection.execute(text("SELECT 1 FROM users WHERE email = :e"),
                              {"e": email}).first() is not None


def insert_user(connection, email: str, name: str | None, password_hash: str, role: str):
    return connection.execute(text(
        "INSERT INTO users (email, name, password_hash, role) VALUES (:e, :n, :h, :r) "
        f"RETURNING {USER_COLUMNS}"), {"e": email, "n": name, "h": password_hash, "r": role}).first()


def user(connection, user_id: int):
    return connection.execute(text(f"SELECT {USER_COLUMNS} FROM users WHERE id = :id"),
                              {"id": user_id}).first()


def user_id(connection, email: str) -> int | None:
    return connection.execute(text("SELECT id FROM users WHERE email = :e"),
                              {"e": email}).scalar()


def user_with_password(connection, email: str):
    return connection.execute(text(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = :e"), {"e": email}).first()


def signed_in(connection, user_id: int, new_password_hash: str | None = None) -> None:
    """Record a sign-in, with the password's hash re-made when the hasher asks for it."""
    if new_password_hash is not None:
        connection.execute(text("UPDATE users SET password_hash = :h WHERE id = :id"),
                           {"h": new_password_hash, "id": user_id})
    connection.execute(text("UPDATE users SET last_login_at = now() WHERE id = :id"),
                       {"id": user_id})


def insert_token(connection, user_id: int, name: str, digest: str) -> None:
    connection.execute(text(
        "INSERT INTO api_tokens (user_id, name, token_hash) VALUES (:u, :n, :h)"),
        {"u": user_id, "n": name, "h": digest})


def use_token(connection, digest: str):
    """The active user whose live token has this digest, marking the token used."""
    return connection.execute(text(
        "UPDATE api_tokens t SET last_used_at = now() FROM users u "
        "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.id = t.user_id AND u.active "
        "RETURNING u.id, u.email, u.name, u.role, u.active"), {"h": digest}).first()


def revoke_token(connection, token_id: int) -> bool:
    return connection.execute(text(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"),
        {"id": token_id}).rowcount == 1


def list_users(connection) -> list:
    """Every user, with how many live API tokens each has, by e-mail address."""
    return connection.execute(text(
        "SELECT u.id, u.email, u.name, u.role, u.active, u.last_login_at, "
        "count(t.id) FILTER (WHERE t.revoked_at IS NULL) AS tokens "
        "FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id GROUP BY u.id ORDER BY u.email"
    )).mappings().all()


def active_tokens(connection) -> list:
    """The API tokens not revoked, oldest first, with their users' addresses."""
    return connection.execute(text(
        "SELECT t.id, t.name, u.email, t.created_at, t.last_used_at FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.revoked_at IS NULL ORDER BY t.created_at"
    )).mappings().all()


def change_user(connection, user_id: int, *, role: str | None, active: str | None) -> None:
    """A new role (None: unchanged) and `active` "yes" or "no" (anything else: unchanged)."""
    connection.execute(text(
        "UPDATE users SET role = coalesce(:role, role), "
        "active = CASE :active WHEN 'yes' THEN true WHEN 'no' THEN false ELSE active END "
        "WHERE id = :id"), {"role": role, "active": active, "id": user_id})


# -- the audit trail ----------------------------------------------------------------------

# The rows an audit entry may snapshot, by table and key; secrets are never copied.
AUDITED = {"places": "id", "users": "id", "listing_reports": "id", "api_tokens": "id",
           "services": "id", "opportunities": "id", "outcomes": "id"}


def add_audit(connection, *, user_id, actor: str, action: str, table: str, record_id,
              before, after) -> None:
    connection.execute(text(
        "INSERT INTO audit_log (user_id, actor, action, table_name, record_id, before, after) "
        "VALUES (:user_id, :actor, :action, :table, :record_id, CAST(:before AS jsonb), "
        "CAST(:after AS jsonb))"),
        {"user_id": user_id, "actor": actor, "action": action, "table": table,
         "record_id": None if record_id is None else str(record_id),
         "before": None if before is None else json.dumps(before, default=str),
         "after": None if after is None else json.dumps(after, default=str)})


def row_snapshot(connection, table: str, key: str, value) -> dict | None:
    """The row as JSON (geometry as GeoJSON), for the before/after of an audit entry."""
    if AUDITED.get(table) != key:
        raise ValueError(f"no audit snapshot for {table}.{key}")
    return connection.execute(text(
        f"SELECT to_jsonb(t) - 'password_hash' - 'token_hash' - 'geom_bng' AS j FROM {table} t "
        f"WHERE {key} = :v"), {"v": value}).scalar()


def audit_latest(connection, limit: int = 200) -> list:
    """The newest entries of the audit trail, newest first."""
    return connection.execute(text(
        "SELECT id, at, actor, action, table_name, record_id, before, after FROM audit_log "
        "ORDER BY id DESC LIMIT :limit"), {"limit": limit}).mappings().all()


def audit_for_record(connection, table: str, record_id) -> list:
    """The entries about one record, oldest first."""
    return connection.execute(text(
        "SELECT id, at, actor, action, table_name, record_id, before, after FROM audit_log "
        "WHERE table_name = :table AND record_id = :id ORDER BY id"),
        {"table": table, "id": str(record_id)}).mappings().all()


# -- import runs, and undoing one (runs.py keeps the rules) --------------------------------

def import_run(connection, run_id: int):
    return connection.execute(text(
        "SELECT id, source, kind, file_name, run_by, started_at, finished_at, status, inserted, "
        "updated, unchanged, pruned, invalid, warnings, report, undone_at, undone_by "
        "FROM import_runs WHERE id = :id"), {"id": run_id}).mappings().first()


def latest_import_runs(connection, limit: int) -> list:
    return connection.execute(text(
        "SELECT id, source, kind, file_name, run_by, started_at, status, inserted, updated, "
        "pruned, invalid, undone_at FROM import_runs ORDER BY id DESC LIMIT :limit"),
        {"limit": limit}).mappings().all()


def lock_import_run(connection, run_id: int):
    """The run, locked, and the places table too: no edit or import may slip in between
    the check for changes and the undo."""
    record = connection.execute(text(
        "SELECT id, kind, status, undone_at, undone_by FROM import_runs WHERE id = :id "
        "FOR UPDATE"), {"id": run_id}).mappings().first()
    if record is not None:
        connection.execute(text("LOCK TABLE places IN SHARE ROW EXCLUSIVE MODE"))
    return record


UNDO_CONFLICTS = text("""
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


def undo_conflicts(connection, run_id: int) -> list:
    """(place id, name, why) of each place the run wrote that is no longer as it left it."""
    return connection.execute(UNDO_CONFLICTS, {"run": run_id}).all()


def _restorable_columns(connection, table: str) -> list[str]:
    """The columns a before-image restores: all but the key and the generated ones."""
    return connection.execute(text(
        "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
        "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attname NOT IN "
        "('id', 'place_id') ORDER BY attnum"), {"t": table}).scalars().all()


def put_back_before_run(connection, run_id: int, detail_tables) -> tuple[int, int]:
    """Delete the places the run inserted and write back the before-images of those it
    changed, with their detail rows (`detail_tables`, from the kind registry); returns
    (removed, restored)."""
    params = {"run": run_id}
    # Rows put back carry an older run's id; they are not that run's to copy again.
    connection.execute(text("SET LOCAL assetmap.undoing = 'on'"))
    removed = connection.execute(text("""
        DELETE FROM places p WHERE p.import_run_id = :run AND NOT EXISTS (
            SELECT 1 FROM import_run_rows b WHERE b.run_id = :run
               AND b.table_name = 'places' AND b.record_id = p.id::text)"""), params).rowcount
    columns = _restorable_columns(connection, "places")
    restored = connection.execute(text(
        f"UPDATE places p SET ({', '.join(columns)}) = "
        f"({', '.join('r.' + c for c in columns)}) FROM import_run_rows b "
        f"CROSS JOIN LATERAL jsonb_populate_record(NULL::places, b.before) r "
        f"WHERE b.run_id = :run AND b.table_name = 'places' AND p.id = b.record_id::bigint"),
        params).rowcount
    for table in detail_tables:
        detail = _restorable_columns(connection, table)
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
    connection.execute(text("SET LOCAL assetmap.undoing = 'off'"))
    return removed, restored


def mark_undone(connection, run_id: int, actor: str) -> None:
    connection.execute(text(
        "UPDATE import_runs SET undone_at = now(), undone_by = :actor WHERE id = :run"),
        {"run": run_id, "actor": actor})
