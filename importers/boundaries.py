"""Boundary sets: wards, priority neighbourhoods, LSOAs. A file is the whole set of its
kind: areas it no longer has are removed, and every place is reassigned afterwards.

The code and name columns are options because ONS renames them with each review
(WD13CD, WD22CD, ...); left out, the ONS pattern (two digits then CD / NM) or a column
called code / name is used.
"""
from __future__ import annotations

import re

import shapely
from sqlalchemy import text

from importers import values
from importers.areas import hold_areas, reassign_places, roll_up_population
from importers.base import STAGE, Importer, Options
from importers.fields import squash
from importers.sources import GEOMETRY, safety

AREA_KINDS = {"wards": "ward", "neighbourhoods": "neighbourhood", "lsoas": "lsoa"}
ONS_CODE = re.compile(r"^[a-z]+(\d{2})cd$")
ONS_NAME = re.compile(r"^[a-z]+\d{2}nm$")


def _find(columns: list[str], wanted: str | None, pattern: re.Pattern, plain: tuple[str, ...],
          prefer: str) -> str | None:
    if wanted:
        return next((c for c in columns if c == wanted or squash(c) == squash(wanted)), None)
    ons = [c for c in columns if pattern.match(squash(c))]
    ons.sort(key=lambda c: not squash(c).startswith(prefer))
    if ons:
        return ons[0]
    return next((c for c in columns if squash(c) in plain), None)


class BoundaryImporter(Importer):

    def __init__(self, engine, area_kind: str, path, options: Options | None = None, *,
                 code_field: str | None = None, name_field: str | None = None,
                 vintage: str | None = None):
        self.area_kind = AREA_KINDS.get(area_kind, area_kind)
        self.what = next(k for k, v in AREA_KINDS.items() if v == self.area_kind)
        self.run_kind = self.area_kind
        self.code_field, self.name_field, self.vintage = code_field, name_field, vintage
        super().__init__(engine, path, options)

    def prepare(self, source) -> None:
        self.source = source
        columns = source.columns
        prefix = {"ward": "wd", "lsoa": "lsoa", "neighbourhood": "n"}[self.area_kind]
        self.code_column = _find(columns, self.code_field, ONS_CODE,
                                 ("code", "areacode", "id"), prefix)
        self.name_column = _find(columns, self.name_field, ONS_NAME, ("name", "areaname"), prefix)
        wkt = self.options.mapping.get("wkt")
        self.wkt_column = wkt if wkt in columns else None
        if self.code_column is None:
            return self.report.fail(
                f"no code column {'called ' + repr(self.code_field) if self.code_field else ''}"
                f" (columns: {', '.join(columns)}); name it with --code-field")
        if self.name_column is None:
            return self.report.fail(
                f"no name column {'called ' + repr(self.name_field) if self.name_field else ''}"
                f" (columns: {', '.join(columns)}); name it with --name-field")
        if not source.has_geometry and self.wkt_column is None:
            return self.report.fail("the file has no geometry: use GeoJSON, a shapefile or a "
                                    "GeoPackage (or a CSV with --map wkt=COLUMN)")
        if self.vintage is None and (match := ONS_CODE.match(squash(self.code_column))):
            self.vintage = "20" + match.group(1)
        self.report.notes.append(f"codes from {self.code_column!r}, names from "
                                 f"{self.name_column!r}, vintage {self.vintage or 'not given'}")

    def stage_columns(self):
        return [("code", "text"), ("name", "text"), ("geom", "geometry")]

    def normalise(self, number: int, row: dict):
        code = values.text(row.get(self.code_column))
        name = values.text(row.get(self.name_column))
        self._code = code
        if code is None:
            self.report.error(number, "code", f"the code ({self.code_column}) is empty")
            return None
        if name is None:
            self.report.warn(number, "name", f"the name is empty; the code {code} is used")
            name = code
        srid = self.options.crs or self.source.srid or 4326
        if self.wkt_column:
            try:
                shape = shapely.from_wkt(values.text(row.get(self.wkt_column)) or "POLYGON EMPTY")
            except shapely.errors.ShapelyError:
                self.report.error(number, "wkt", "the geometry is not WKT")
                return None
        else:
            wkb = row.get(GEOMETRY)
            shape = shapely.from_wkb(wkb) if wkb is not None else None
        if shape is None or shape.is_empty:
            self.report.error(number, "geometry", f"area {code} has no geometry")
            return None
        if too_big := safety.too_many_vertices(shape, self.options.max_vertices):
            self.report.error(number, "wkt" if self.wkt_column else "geometry",
                              f"area {code}: {too_big}")
            return None
        shape = shapely.set_srid(shapely.force_2d(shape), srid)
        return [code, name, shapely.to_wkb(shape, hex=True, include_srid=True)]

    def refused_values(self, number, row):
        return [getattr(self, "_code", None), None, None]

    def check(self, connection) -> None:
        connection.execute(text(f"""
            UPDATE {STAGE} SET geom = ST_Transform(geom, 4326)
             WHERE valid AND ST_SRID(geom) <> 4326"""))
        self.refuse(connection, f"""
            SELECT row_number, 'geometry' AS field,
                   format('area %s is a %s, not a polygon', code, lower(GeometryType(geom)))
                   AS reason
              FROM {STAGE} WHERE valid AND GeometryType(geom) NOT IN ('POLYGON', 'MULTIPOLYGON')""")
        self.warn(connection, f"""
            SELECT row_number, 'geometry' AS field,
                   format('area %s was invalid (%s) and has been repaired with ST_MakeValid',
                          code, ST_IsValidReason(geom)) AS reason
              FROM {STAGE} WHERE valid AND NOT ST_IsValid(geom)""")
        connection.execute(text(f"""
            UPDATE {STAGE} SET geom = ST_CollectionExtract(ST_MakeValid(geom), 3)
             WHERE valid AND NOT ST_IsValid(geom)"""))
        connection.execute(text(f"UPDATE {STAGE} SET geom = ST_Multi(geom) WHERE valid"))
        self.refuse(connection, f"""
            SELECT row_number, 'code' AS field,
                   format('code %s is used by more than one area (rows %s)', code,
                          string_agg(row_number::text, ', ') OVER (PARTITION BY code)) AS reason
              FROM {STAGE} s
             WHERE valid AND code IN (SELECT code FROM {STAGE} WHERE valid
                                       GROUP BY code HAVING count(*) > 1)""")

    def merge(self, connection, run_id: int) -> dict:
        hold_areas(connection, change=True)
        params = {"kind": self.area_kind, "vintage": self.vintage, "run": run_id}
        # The council's own names win over the file's (or the derived ones), and keep the
        # name they replace, for when they are taken away.
        connection.execute(text(f"""
            UPDATE area_names n SET replaced_name = s.name FROM {STAGE} s
             WHERE s.valid AND n.kind = :kind AND n.code = s.code AND s.name <> n.name"""),
            params)
        connection.execute(text(f"""
            UPDATE {STAGE} s SET name = n.name FROM area_names n
             WHERE s.valid AND n.kind = :kind AND n.code = s.code"""), params)
        actions = dict(connection.execute(text(f"""
            SELECT CASE WHEN a.id IS NULL THEN 'insert'
                        WHEN (a.name, a.vintage, a.geom) IS DISTINCT FROM
                             (s.name, CAST(:vintage AS text), s.geom) THEN 'update'
                        ELSE 'unchanged' END, count(*)
              FROM {STAGE} s LEFT JOIN areas a ON a.kind = :kind AND a.code = s.code
             WHERE s.valid GROUP BY 1"""), params).all())
        connection.execute(text(f"""
            INSERT INTO areas AS a (kind, code, name, vintage, geom, import_run_id)
            SELECT :kind, code, name, :vintage, geom, :run FROM {STAGE} WHERE valid
            ON CONFLICT (kind, code) DO UPDATE
               SET name = EXCLUDED.name, vintage = EXCLUDED.vintage, geom = EXCLUDED.geom,
                   import_run_id = EXCLUDED.import_run_id
             WHERE (a.name, a.vintage, a.geom) IS DISTINCT FROM
                   (EXCLUDED.name, EXCLUDED.vintage, EXCLUDED.geom)"""), params)
        removed = self._remove_missing(connection, params)
        if self.area_kind == "lsoa" and (actions.get("insert") or actions.get("update")
                                         or removed):
            self._note_stale_neighbourhoods(connection)
        roll_up_population(connection)
        moved = reassign_places(connection)
        self.report.notes.append(f"{moved:,} places were given a different ward, LSOA or "
                                 f"neighbourhood")
        return {"inserted": actions.get("insert", 0), "updated": actions.get("update", 0),
                "unchanged": actions.get("unchanged", 0), "removed": removed}

    def _remove_missing(self, connection, params) -> int:
        unknown = connection.execute(text(
            f"SELECT count(*) FROM {STAGE} WHERE NOT valid AND code IS NULL")).scalar_one()
        if unknown:
            self.report.notes.append(f"no area was removed: {unknown:,} refused rows have no "
                                     f"code, and their areas would have been")
            return 0
        return connection.execute(text(f"""
            DELETE FROM areas a WHERE a.kind = :kind
               AND NOT EXISTS (SELECT 1 FROM {STAGE} s WHERE s.code = a.code)"""),
            params).rowcount

    def _note_stale_neighbourhoods(self, connection) -> None:
        if connection.execute(text(
                "SELECT EXISTS (SELECT 1 FROM areas WHERE kind = 'neighbourhood')")).scalar():
            self.report.notes.append("the LSOAs changed: derive the priority neighbourhoods "
                                     "again with: assetmap neighbourhoods from-imd")


def import_boundaries(engine, area_kind: str, path, options: Options | None = None, **kwargs):
    """Load the whole set of `area_kind` ("wards", "neighbourhoods", "lsoas") from `path`."""
    return BoundaryImporter(engine, area_kind, path, options, **kwargs).run()
