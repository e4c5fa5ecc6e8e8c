"""Services from a file: what is offered, by whom, where, when and for whom (Open Referral
UK's service, organisation, service at location, service area and schedule).

One row is one service. It may name the place it is offered at (the place's number on the
map, its id in its own file, or its name), the organisation that runs it, and the area it
serves: a list of wards or LSOAs (names or codes), or a polygon (the file's own geometry,
or WKT or GeoJSON in a column). Its opening hours are read from text as a place's are
(importers/schedules.py), and what could not be read is listed in the report.

The key is (source, id column), or when the file has no id, the name and the place, so
re-importing updates services. Only the columns the file has are written on update.
Everything published from here is public: the service's e-mail is its public address, and
one that is a place's private address is left out with a warning.
"""
from __future__ import annotations

import hashlib

import shapely
from sqlalchemy import text

from importers import schedules, values
from importers.base import STAGE, Importer, Options
from importers.fields import Field, column_notes, match_columns, read_fields
from importers.places import coverage_geometry
from importers.sources import GEOMETRY, safety
from importers.staging import pg_array, pg_bool
from layers.openreferral import LANGUAGES

STATUSES = {"active": "active", "open": "active", "inactive": "inactive",
            "defunct": "defunct", "closed": "defunct", "ended": "defunct",
            "temporarilyclosed": "temporarily closed", "paused": "temporarily closed",
            "suspended": "temporarily closed"}
CODES_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()}


def language_list(raw) -> list[str] | None:
    """Languages as ISO 639 codes, from codes ("en; ur") or names ("English, Urdu")."""
    items = values.text_list(raw)
    if items is None:
        return None
    codes, unknown = [], []
    for item in items:
        lowered = item.lower()
        if lowered in LANGUAGES:
            codes.append(lowered)
        elif lowered in CODES_BY_NAME:
            codes.append(CODES_BY_NAME[lowered])
        else:
            unknown.append(item)
    if unknown:
        raise values.Invalid(
            f"{', '.join(repr(u) for u in unknown)}: not a language this map knows; write a "
            f"name or an ISO 639 code ({', '.join(sorted(LANGUAGES))})")
    return list(dict.fromkeys(codes))


def age(raw) -> int | None:
    value = values.integer(raw, "age in years")
    if value is not None and not 0 <= value <= 130:
        raise values.Invalid(f"{value} is not an age in years (0 to 130)")
    return value


# The service's own columns; `column` is the staging column.
SERVICE_FIELDS = (
    Field("source_id", values.text, ("id", "service_id", "ref", "reference", "identifier",
                                     "uid", "uuid"), column="source_id",
          help="the file's own id for the service; re-importing updates it"),
    Field("name", values.text, ("service", "service_name", "title"), column="name",
          required=True),
    Field("description", values.text, ("desc", "about", "summary", "details",
                                       "what_is_offered"), column="description"),
    Field("place", values.text, ("place_id", "place_name", "location", "venue", "at",
                                 "where"), column="place_ref",
          help="the place it is offered at: its number on the map, its id or its name"),
    Field("organisation", values.text, ("organisation_name", "organization",
                                        "organization_name", "provider", "run_by",
                                        "org_name"), column="organisation"),
    Field("organisation_website", values.url, ("organisation_url", "organization_url",
                                               "provider_website"),
          column="organisation_website", on_invalid="warning"),
    Field("url", values.url, ("website", "web", "link", "service_url"), column="url",
          on_invalid="warning"),
    Field("email", values.email, ("e_mail", "email_address", "contact_email"),
          column="email", on_invalid="warning", help="published: a public address only"),
    Field("status", values.choice(STATUSES, "service status"), ("state",),
          column="status"),
    Field("minimum_age", age, ("min_age", "age_from", "from_age", "ages_from"),
          column="minimum_age", sql_type="integer"),
    Field("maximum_age", age, ("max_age", "age_to", "to_age", "ages_to"),
          column="maximum_age", sql_type="integer"),
    Field("free", values.boolean, ("is_free", "free_of_charge", "no_cost"), column="free",
          sql_type="boolean"),
    Field("cost", values.text, ("price", "charge", "cost_description", "fee", "fees"),
          column="cost"),
    Field("languages", language_list, ("language", "languages_spoken", "spoken_languages"),
          column="languages", sql_type="text[]"),
    Field("accessibility", values.lower_text_list, ("access", "access_information",
                                                    "accessibility_features"),
          column="accessibility", sql_type="text[]"),
    Field("categories", values.lower_text_list, ("category", "tags", "taxonomy", "type"),
          column="categories", sql_type="text[]"),
    Field("schedule", values.text, ("schedule_text", "opening_hours", "hours",
                                    "opening_times", "times", "when", "sessions"),
          column="schedule_text"),
    Field("area_wards", values.text_list, ("wards", "ward", "wards_served", "area_ward"),
          column="area_wards", sql_type="text[]",
          help="the wards it serves, by name or code"),
    Field("area_lsoas", values.text_list, ("lsoas", "lsoa", "lsoa_codes", "area_lsoa"),
          column="area_lsoas", sql_type="text[]", help="the LSOAs it serves, by code or name"),
    Field("area", values.text, ("area_polygon", "coverage", "service_area", "area_wkt",
                                "area_geojson"), column="area_geom", sql_type="geometry",
          help="the area it serves as WKT or GeoJSON (or the file's own polygons)"),
    Field("area_name", values.text, ("area_served", "service_area_name"), column="area_name"),
)
FIELDS = {f.name: f for f in SERVICE_FIELDS}
AREA_FIELDS = ("area_wards", "area_lsoas", "area")
# The services table's columns the file can set, with each one's value when it is empty.
STORED = {"name": None, "description": None, "url": None, "email": None,
          "status": "'active'", "minimum_age": None, "maximum_age": None, "free": None,
          "cost": None, "languages": "'{}'", "accessibility": "'{}'", "categories": "'{}'",
          "schedule_text": None}
STORED_BY_FIELD = {"schedule": "schedule_text"}


# What the editor's service form holds, checked by the same parsers as a file's cells.
FORM_FIELDS = ("name", "description", "url", "email", "status", "minimum_age", "maximum_age",
               "free", "cost", "languages", "accessibility", "categories", "schedule",
               "organisation", "organisation_website")


def parse_form(form: dict) -> tuple[dict, list[str]]:
    """A service as the editor's form gives it: the services table's values (column:
    value) and the problems, each "field: reason", exactly as a file's row is read."""
    found, problems = {}, []
    for name in FORM_FIELDS:
        try:
            found[STORED_BY_FIELD.get(name, name)] = FIELDS[name].parse(form.get(name))
        except values.Invalid as problem:
            problems.append(f"{name}: {problem}")
    if found.get("name") is None:
        problems.append("name: a service needs a name")
    low, high = found.get("minimum_age"), found.get("maximum_age")
    if low is not None and high is not None and low > high:
        problems.append(f"maximum_age: the maximum age ({high}) is below the minimum age ({low})")
    found["status"] = found.get("status") or "active"
    for column in ("languages", "accessibility", "categories"):
        found[column] = found.get(column) or []
    return found, problems


class ServiceImporter(Importer):
    what = "services"
    run_kind = "services"

    # --- columns -----------------------------------------------------------------------

    def prepare(self, source) -> None:
        self.source = source
        match = match_columns(source.columns, list(SERVICE_FIELDS), self.options.mapping,
                              source.truncated_names)
        if match.errors:
            return self.report.fail("; ".join(match.errors))
        self.columns = columns = match.columns
        if "name" not in columns:
            return self.report.fail(
                f"no column holds the service's name (columns: {', '.join(source.columns)}); "
                f"name one with --map name=COLUMN")
        self.readers = [(f, columns[f.name]) for f in SERVICE_FIELDS
                        if f.name in columns and f.name != "area"]
        self.derived_ids = "source_id" not in columns
        self.polygons = source.has_geometry or "area" in columns
        self.mapped = {f.name for f, _ in self.readers} - {"source_id"}
        if self.polygons:
            self.mapped.add("area")
        names = [name for name, _ in self.stage_columns()]
        self.slots = {f.name: names.index(f.column) for f in SERVICE_FIELDS}
        self.converters = {"text[]": pg_array, "boolean": pg_bool}
        if self.derived_ids:
            self.report.notes.append(
                "the file has no id column, so each service's id is made from its name and "
                "its place: a renamed service is loaded as a new one (use --prune to remove "
                "the old)")
        self.report.notes.extend(column_notes(match))

    def stage_columns(self) -> list[tuple[str, str]]:
        return [(f.column, f.sql_type) for f in SERVICE_FIELDS] + [
            ("place_id", "bigint"), ("ward_codes", "text[]"), ("lsoa_codes", "text[]")]

    # --- one row -----------------------------------------------------------------------

    def normalise(self, number: int, row: dict) -> list | None:
        report = self.report
        found, refused = read_fields(report, number, row, self.readers)
        if found.get("name") is None:
            report.error(number, "name", "the name is empty")
            refused = True
        low, high = found.get("minimum_age"), found.get("maximum_age")
        if low is not None and high is not None and low > high:
            report.error(number, "maximum_age",
                         f"the maximum age ({high}) is below the minimum age ({low})")
            refused = True
        if self.polygons:
            found["area"], bad = self.area(number, row)
            refused = refused or bad
        if self.derived_ids:
            source_id = None
            if found.get("name") is not None:
                key = f"{found['name']}|{found.get('place') or ''}".lower()
                source_id = hashlib.sha1(key.encode()).hexdigest()[:12]
        else:
            source_id = found.get("source_id")
            if source_id is None:
                report.error(number, "source_id",
                             f"the id ({self.columns['source_id']}) is empty")
                refused = True
        found["source_id"] = source_id
        self.refused_id = source_id
        if refused:
            return None
        staged = [None] * len(self.slots) + [None, None, None]
        for name, value in found.items():
            if value is not None:
                convert = self.converters.get(FIELDS[name].sql_type)
                staged[self.slots[name]] = convert(value) if convert else value
        return staged

    def refused_values(self, number: int, row: dict) -> list:
        staged = [None] * len(self.stage_columns())
        staged[self.slots["source_id"]] = self.refused_id
        return staged

    def area(self, number: int, row: dict) -> tuple[str | None, bool]:
        """The row's polygon as EWKB, and whether the row is refused because of it."""
        wkb = row.get(GEOMETRY)
        field_name = "geometry"
        try:
            if wkb is not None:
                shape, srid = shapely.from_wkb(wkb), self.options.crs or self.source.srid
            elif "area" in self.columns:
                field_name = "area"
                shape, srid = coverage_geometry(row.get(self.columns["area"])), 4326
            else:
                return None, False
        except (values.Invalid, shapely.errors.ShapelyError) as problem:
            self.report.error(number, field_name, f"{problem}".replace("coverage", "service"))
            return None, True
        if shape is None or shape.is_empty:
            return None, False
        if shape.geom_type not in ("Polygon", "MultiPolygon"):
            self.report.error(number, field_name,
                              f"a service area is a polygon, not a {shape.geom_type}")
            return None, True
        if too_big := safety.too_many_vertices(shape, self.options.max_vertices):
            self.report.error(number, field_name, too_big)
            return None, True
        shape = shapely.set_srid(shapely.force_2d(shape), srid)
        return shapely.to_wkb(shape, hex=True, include_srid=True), False

    # --- set-based checks --------------------------------------------------------------

    def check(self, connection) -> None:
        self.refuse_repeated_ids(
            connection, " (the same name at the same place)" if self.derived_ids else "")
        if "place" in self.mapped:
            self.find_places(connection)
        if "area_wards" in self.mapped:
            self._find_areas(connection, "area_wards", "ward_codes", "ward")
        if "area_lsoas" in self.mapped:
            self._find_areas(connection, "area_lsoas", "lsoa_codes", "lsoa")
        if self.polygons:
            self.refuse(connection, f"""
                SELECT row_number, 'area' AS field,
                       'the area is not a valid polygon: ' || ST_IsValidReason(area_geom)
                       AS reason
                  FROM {STAGE} WHERE valid AND area_geom IS NOT NULL
                   AND NOT ST_IsValid(area_geom)""")
            self.refuse(connection, f"""
                SELECT s.row_number, 'area' AS field,
                       'the area does not reach any ward of the district (is its CRS '
                       || 'right? it was read as EPSG:' || ST_SRID(s.area_geom) || ')'
                       AS reason
                  FROM {STAGE} s WHERE s.valid AND s.area_geom IS NOT NULL
                   AND EXISTS (SELECT 1 FROM areas WHERE kind = 'ward')
                   AND NOT EXISTS (SELECT 1 FROM areas w WHERE w.kind = 'ward'
                        AND ST_Intersects(w.geom, ST_Transform(s.area_geom, 4326)))""")
        if "email" in self.mapped:
            for number, in connection.execute(text(f"""
                    UPDATE {STAGE} s SET email = NULL FROM places p
                     WHERE s.valid AND p.id = s.place_id AND NOT p.email_public
                       AND lower(p.email) = lower(s.email) RETURNING s.row_number""")):
                self.report.warn(number, "email", "this is the place's private e-mail "
                                 "address and a service's is published; left out")

    def _find_areas(self, connection, field_name: str, codes: str, kind: str) -> None:
        """Ward or LSOA names and codes as codes; an unknown one refuses the row."""
        what = {"ward": "ward", "lsoa": "LSOA"}[kind]
        self.refuse(connection, f"""
            SELECT s.row_number, :field AS field,
                   'no {what} is called ' || string_agg(quote_literal(n.item), ', ')
                   || ' (give the {what}''s name or code, e.g. '
                   || (SELECT quote_literal(name) || ' or ' || quote_literal(code) FROM areas
                        WHERE kind = :kind ORDER BY code LIMIT 1) || ')' AS reason
              FROM {STAGE} s CROSS JOIN LATERAL unnest(s.{field_name}) AS n(item)
             WHERE s.valid AND NOT EXISTS (SELECT 1 FROM areas a WHERE a.kind = :kind
                     AND (upper(a.code) = upper(btrim(n.item))
                          OR lower(a.name) = lower(btrim(n.item))))
             GROUP BY s.row_number""", {"field": field_name, "kind": kind})
        connection.execute(text(f"""
            UPDATE {STAGE} s SET {codes} = (
                SELECT array_agg(DISTINCT a.code ORDER BY a.code)
                  FROM unnest(s.{field_name}) AS n(item) JOIN areas a ON a.kind = :kind
                   AND (upper(a.code) = upper(btrim(n.item))
                        OR lower(a.name) = lower(btrim(n.item))))
             WHERE s.valid AND s.{field_name} IS NOT NULL"""), {"kind": kind})

    # --- merge -------------------------------------------------------------------------

    def merge(self, connection, run_id: int) -> dict:
        params = {"source": self.source_name}
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        if "organisation" in self.mapped:
            counts["organisations added"] = self._organisations(connection, params)
        stored = [STORED_BY_FIELD.get(name, name) for name in sorted(self.mapped)
                  if STORED_BY_FIELD.get(name, name) in STORED]
        written = ["place_id"] if "place" in self.mapped else []
        if "organisation" in self.mapped:
            written.append("organisation_id")
        written += stored
        values_sql = {c: (f"coalesce(s.{c}, {STORED[c]})" if STORED.get(c) else f"s.{c}")
                      for c in stored}
        values_sql["place_id"] = "s.place_id"
        values_sql["organisation_id"] = (
            "CASE WHEN s.organisation IS NOT NULL THEN assetmap_uuid('organisation:' || "
            ":source || ':' || lower(s.organisation)) END")
        target = ", ".join(f"t.{c}" for c in written)
        incoming = ", ".join(f"EXCLUDED.{c}" for c in written)
        rows = connection.execute(text(f"""
            INSERT INTO services AS t (id, source, source_id, {', '.join(written)})
            SELECT assetmap_uuid('service:' || :source || ':' || s.source_id), :source,
                   s.source_id, {', '.join(values_sql[c] for c in written)}
              FROM {STAGE} s WHERE s.valid ORDER BY s.row_number
            ON CONFLICT (source, source_id) DO UPDATE
               SET ({', '.join(written)}, deleted_at, updated_at) =
                   ({incoming}, NULL, now())
             WHERE ({target}, t.deleted_at IS NULL) IS DISTINCT FROM ({incoming}, true)
            RETURNING (xmax = 0) AS inserted"""), params).scalars().all()
        counts["inserted"] = sum(rows)
        counts["updated"] = len(rows) - counts["inserted"]
        valid = connection.execute(text(
            f"SELECT count(*) FROM {STAGE} WHERE valid")).scalar_one()
        counts["unchanged"] = valid - len(rows)
        if self.mapped & set(AREA_FIELDS):
            counts["areas changed"] = self._areas(connection, params)
        if self.options.prune:
            counts["pruned"] = connection.execute(text(f"""
                UPDATE services SET deleted_at = now(), updated_at = now()
                 WHERE source = :source AND deleted_at IS NULL
                   AND source_id NOT IN (SELECT source_id FROM {STAGE}
                                          WHERE source_id IS NOT NULL)"""), params).rowcount
        schedules.refresh(connection)
        # What of this file's opening hours was not understood, whether it changed or not.
        missed = connection.execute(text(f"""
            SELECT v.name, part FROM {STAGE} s
              JOIN services v ON v.source = :source AND v.source_id = s.source_id
              JOIN schedule_texts t ON t.owner = 'service:' || v.id
             CROSS JOIN LATERAL unnest(t.not_understood) AS part
             WHERE s.valid ORDER BY s.row_number"""), params).all()
        if (note := schedules.note([tuple(row) for row in missed])) is not None:
            self.report.notes.append(note)
        return counts

    def _organisations(self, connection, params) -> int:
        return sum(connection.execute(text(f"""
            INSERT INTO organisations AS o (id, source, source_id, name, website)
            SELECT DISTINCT ON (lower(organisation))
                   assetmap_uuid('organisation:' || :source || ':' || lower(organisation)),
                   :source, lower(organisation), organisation, organisation_website
              FROM {STAGE} WHERE valid AND organisation IS NOT NULL
             ORDER BY lower(organisation), organisation_website IS NULL, row_number
            ON CONFLICT (source, source_id) DO UPDATE
               SET name = EXCLUDED.name,
                   website = coalesce(EXCLUDED.website, o.website),
                   deleted_at = NULL, updated_at = now()
             WHERE (o.name, o.website, o.deleted_at IS NULL) IS DISTINCT FROM
                   (EXCLUDED.name, coalesce(EXCLUDED.website, o.website), true)
            RETURNING (xmax = 0) AS inserted"""), params).scalars())

    def _areas(self, connection, params) -> int:
        """Each service's area from its wards, LSOAs and polygon (their union), written
        only where it changed; returns how many services' areas changed."""
        connection.execute(text(f"""
            CREATE TEMP TABLE import_service_areas ON COMMIT DROP AS
            SELECT assetmap_uuid('service:' || :source || ':' || s.source_id) AS service_id,
                   g.geom, g.names, s.area_name,
                   coalesce(s.ward_codes, '{{}}') || coalesce(s.lsoa_codes, '{{}}') AS codes,
                   CASE WHEN s.area_geom IS NULL AND s.lsoa_codes IS NULL
                         AND s.ward_codes IS NOT NULL THEN 'ward'
                        WHEN s.area_geom IS NULL AND s.ward_codes IS NULL
                         AND s.lsoa_codes IS NOT NULL THEN 'lsoa' END AS area_kind
              FROM {STAGE} s CROSS JOIN LATERAL (
                   SELECT ST_Multi(ST_CollectionExtract(ST_Union(u.geom), 3)) AS geom,
                          string_agg(u.name, ', ' ORDER BY u.name) AS names
                     FROM (SELECT a.geom, a.name FROM areas a
                            WHERE (a.kind = 'ward' AND a.code = ANY(s.ward_codes))
                               OR (a.kind = 'lsoa' AND a.code = ANY(s.lsoa_codes))
                           UNION ALL
                           SELECT ST_Transform(s.area_geom, 4326), NULL
                            WHERE s.area_geom IS NOT NULL) u) g
             WHERE s.valid"""), params)
        changed = connection.execute(text("""
            SELECT n.service_id FROM import_service_areas n
              LEFT JOIN service_areas a ON a.service_id = n.service_id
             WHERE (a.id IS NULL) <> (n.geom IS NULL)
                OR (a.id IS NOT NULL AND n.geom IS NOT NULL AND (
                    (a.area_kind, a.area_codes, a.name) IS DISTINCT FROM
                    (n.area_kind, n.codes, coalesce(n.area_name, n.names, 'Area served'))
                    OR NOT ST_Equals(a.geom, n.geom)))""")).scalars().all()
        if not changed:
            return 0
        connection.execute(text(
            "DELETE FROM service_areas WHERE service_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": [str(i) for i in changed]})
        connection.execute(text("""
            INSERT INTO service_areas (id, service_id, name, area_kind, area_codes, geom)
            SELECT assetmap_uuid('service_area:' || service_id), service_id,
                   coalesce(area_name, names, 'Area served'), area_kind, codes, geom
              FROM import_service_areas
             WHERE geom IS NOT NULL AND service_id = ANY(CAST(:ids AS uuid[]))"""),
            {"ids": [str(i) for i in changed]})
        connection.execute(text(
            "UPDATE services SET updated_at = now() WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": [str(i) for i in changed]})
        return len(changed)


def import_services(engine, path, options: Options | None = None) -> object:
    """Load services from `path` (CSV, JSON, GeoJSON, shapefile or GeoPackage)."""
    return ServiceImporter(engine, path, options).run()
