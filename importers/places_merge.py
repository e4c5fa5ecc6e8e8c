"""The set-based merge of staged places: plan, upsert places and details, prune, assign
areas. SQL identifiers come only from the field registry in `importers.kinds`."""
from __future__ import annotations

from sqlalchemy import text

from importers.areas import hold_areas
from importers.base import STAGE
from importers.kinds import PLACE_FIELDS

PRECISION_DEFAULT = ("CASE WHEN s.located_by = 'postcode' THEN 'street' ELSE 'exact' END")
# A load this big that also outnumbers the places already there rebuilds the places
# table's secondary indexes once at the end instead of updating them row by row.
BULK_ROWS = 100_000


def _place_expression(column: str, contacts_public: bool) -> str:
    """A staged place value as it will be stored (the table's defaults applied)."""
    if column == "categories":
        return "coalesce(s.categories, '{}')"
    if column in ("phone_public", "email_public"):
        return f"coalesce(s.{column}, {'true' if contacts_public else 'false'})"
    if column == "location_precision":
        return f"coalesce(s.location_precision, {PRECISION_DEFAULT})"
    return f"s.{column}"


def _detail_expression(column: str, defaults: dict) -> str:
    if column == "coverage":
        return "ST_Multi(s.coverage)"
    if column in defaults:
        return f"coalesce(s.{column}, {defaults[column]})"
    return f"s.{column}"


def merge_places(importer, connection, run_id: int) -> dict:
    kind = importer.kind
    mapped = importer.mapped
    defaults = dict(kind.defaults)
    public = kind.contacts_public
    place_columns = [f.column for f in PLACE_FIELDS
                     if f.name in mapped and f.column not in ("source_id", "name")]
    compared = ["name", *place_columns]
    detail_columns = [f.column for f in kind.fields if f.name in mapped]
    params = {"source": importer.source_name, "kind": kind.kind, "run": run_id}

    detail_changed = ""
    if detail_columns:
        detail_changed = (
            f" OR ({', '.join('d.' + c for c in detail_columns)}) IS DISTINCT FROM "
            f"({', '.join(_detail_expression(c, defaults) for c in detail_columns)})")
    connection.execute(text(f"""
        CREATE TEMP TABLE import_plan ON COMMIT DROP AS
        SELECT s.row_number, p.id AS place_id,
               CASE WHEN p.id IS NULL THEN 'insert'
                    WHEN p.deleted_at IS NOT NULL THEN 'restore'
                    WHEN ({', '.join('p.' + c for c in compared)}, p.geom) IS DISTINCT FROM
                         ({', '.join(_place_expression(c, public) for c in compared)}, s.geom)
                      OR d.place_id IS NULL{detail_changed}
                    THEN 'update' ELSE 'unchanged' END AS action
          FROM {STAGE} s
          LEFT JOIN places p ON p.source = :source AND p.source_id = s.source_id
          LEFT JOIN {kind.table} d ON d.place_id = p.id
         WHERE s.valid AND NOT s.skipped"""), params)
    actions = dict(connection.execute(text(
        "SELECT action, count(*) FROM import_plan GROUP BY action")).all())

    # Every place has these on insert; on update only what the file sets is written.
    inserted = ["name", *place_columns]
    for column in ("phone_public", "email_public", "location_precision"):
        if column not in inserted:
            inserted.append(column)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared)
    detail_inserted = [*detail_columns, *(c for c in defaults if c not in detail_columns)]
    if detail_columns:
        detail_conflict = (
            f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in detail_columns)} "
            f"WHERE ({', '.join('d.' + c for c in detail_columns)}) IS DISTINCT FROM "
            f"({', '.join('EXCLUDED.' + c for c in detail_columns)})")
    else:
        detail_conflict = "DO NOTHING"
    hold_areas(connection, change=False)
    # A dry run never drops indexes: that would lock the map for nothing.
    bulk = (not importer.options.dry_run and actions.get("insert", 0) >= BULK_ROWS
            and actions.get("insert", 0) > connection.execute(text(
                "SELECT count(*) FROM places")).scalar_one())
    rebuild = _drop_secondary_indexes(connection) if bulk else []
    # The plan holds only new, changed or restored rows, so every conflict below is a real
    # change: unchanged places are never written (their updated_at stays put). Places are
    # written once, with their areas from assetmap_locate_areas(), the lookup
    # assetmap_assign_areas() makes; updating a million rows again just after writing
    # them would double the cost of a load.
    connection.execute(text(f"""
        INSERT INTO places AS p (kind, source, source_id, {', '.join(inserted)}, geom,
                                 ward_code, lsoa_code, neighbourhood_codes, import_run_id)
        SELECT :kind, :source, s.source_id,
               {', '.join(_place_expression(c, public) for c in inserted)}, s.geom,
               areas.ward_code, areas.lsoa_code, areas.neighbourhood_codes, :run
          FROM {STAGE} s JOIN import_plan a USING (row_number)
         CROSS JOIN LATERAL assetmap_locate_areas(s.geom) areas
         WHERE a.action <> 'unchanged'
         ORDER BY {'s.source_id' if bulk else 's.geom'}
        ON CONFLICT (source, source_id) DO UPDATE
           SET {updates}, geom = EXCLUDED.geom, ward_code = EXCLUDED.ward_code,
               lsoa_code = EXCLUDED.lsoa_code,
               neighbourhood_codes = EXCLUDED.neighbourhood_codes, deleted_at = NULL,
               import_run_id = EXCLUDED.import_run_id"""), params)
    connection.execute(text(f"""
        INSERT INTO {kind.table} AS d (place_id{''.join(', ' + c for c in detail_inserted)})
        SELECT p.id{''.join(', ' + _detail_expression(c, defaults) for c in detail_inserted)}
          FROM {STAGE} s JOIN import_plan a USING (row_number)
          JOIN places p ON p.source = :source AND p.source_id = s.source_id
         WHERE a.action <> 'unchanged'
        ON CONFLICT (place_id) {detail_conflict}"""), params)
    for definition in rebuild:
        connection.exec_driver_sql(definition)
    if rebuild:
        importer.report.notes.append(
            f"a bulk load: the places table's {len(rebuild)} other indexes were rebuilt once "
            f"after loading (the map waited for the import to finish)")

    pruned = _prune(importer, connection, params) if importer.options.prune else 0

    restored = actions.get("restore", 0)
    if restored:
        importer.report.notes.append(f"{restored:,} of the updated places had been removed "
                                     "before and are back on the map")
    counts = {"inserted": actions.get("insert", 0),
              "updated": actions.get("update", 0) + restored,
              "unchanged": actions.get("unchanged", 0), "pruned": pruned}
    return counts


def _prune(importer, connection, params: dict) -> int:
    """Soft-delete this source's places of this kind that the file no longer has. A
    refused row without a readable id might be one of them, so then nothing is pruned."""
    unknown = connection.execute(text(
        f"SELECT count(*) FROM {STAGE} WHERE NOT valid AND source_id IS NULL")).scalar_one()
    if unknown:
        importer.report.notes.append(
            f"--prune did nothing: {unknown:,} refused rows have no readable id, and their "
            f"places would have been removed")
        return 0
    return connection.execute(text(f"""
        UPDATE places p SET deleted_at = now(), import_run_id = :run
         WHERE p.source = :source AND p.kind = :kind AND p.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM {STAGE} s
                            WHERE s.source_id = p.source_id AND NOT s.skipped)"""),
        params).rowcount


def _drop_secondary_indexes(connection) -> list[str]:
    """Drop the places indexes no constraint needs; return the statements that rebuild
    them (from the catalogue, so they match the migrations exactly)."""
    rows = connection.execute(text("""
        SELECT format('%I.%I', schemaname, indexname), indexdef FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename = 'places'
           AND indexname NOT IN (SELECT conname FROM pg_constraint
                                  WHERE conrelid = 'places'::regclass)""")).all()
    if rows:
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        connection.execute(text("DROP INDEX " + ", ".join(name for name, _ in rows)))
    return [definition for _, definition in rows]
