"""The council's own names for its areas: a file of codes and names, one row each.

    code,name
    PN-E01011038,Huddersfield town centre and Birkby

A name here wins over the name a boundary file gives the code, or the one derived for a
priority neighbourhood, and stays when the areas are loaded or derived again. A row with
an empty name takes the council's name away, and the area has its earlier name back.
Every code must be an area that is loaded; the file is applied whole or not at all.
"""
from __future__ import annotations

import re

from sqlalchemy import text

from importers import values
from importers.base import STAGE, Importer, Options
from importers.boundaries import AREA_KINDS
from importers.fields import squash

LONGEST = 120


class AreaNamesImporter(Importer):
    what = "area names"
    run_kind = "area names"

    def __init__(self, engine, area_kind: str, path, options: Options | None = None):
        self.area_kind = AREA_KINDS.get(area_kind, area_kind)
        super().__init__(engine, path, options)

    def prepare(self, source) -> None:
        self.columns = {}
        for field in ("code", "name"):
            wanted = self.options.mapping.get(field, field)
            self.columns[field] = next(
                (c for c in source.columns if squash(c) == squash(wanted)), None)
            if self.columns[field] is None:
                return self.report.fail(f"no {field!r} column (columns: "
                                        f"{', '.join(source.columns)}); name it with "
                                        f"--map {field}=COLUMN")

    def stage_columns(self):
        return [("code", "text"), ("name", "text")]

    def normalise(self, number, row):
        code = values.text(row.get(self.columns["code"]))
        name = values.text(row.get(self.columns["name"]))
        self._code = code
        if code is None:
            self.report.error(number, "code", "the code is empty")
            return None
        if name is not None:
            name = re.sub(r"\s+", " ", name)
            if len(name) > LONGEST:
                self.report.error(number, "name", f"the name has {len(name)} characters; "
                                                  f"at most {LONGEST}")
                return None
        return [code, name]

    def refused_values(self, number, row):
        return [getattr(self, "_code", None), None]

    def check(self, connection) -> None:
        self.refuse(connection, f"""
            SELECT row_number, 'code' AS field,
                   format('there is no %s with the code %s', CAST(:noun AS text), code) AS reason
              FROM {STAGE} s
             WHERE valid AND NOT EXISTS (
                   SELECT 1 FROM areas a WHERE a.kind = :kind AND a.code = s.code)""",
                    {"kind": self.area_kind, "noun": self.area_kind.replace("neighbourhood",
                                                                           "priority neighbourhood")})
        self.refuse(connection, f"""
            SELECT row_number, 'code' AS field,
                   format('code %s has more than one row (rows %s)', code,
                          string_agg(row_number::text, ', ') OVER (PARTITION BY code)) AS reason
              FROM {STAGE}
             WHERE valid AND code IN (SELECT code FROM {STAGE} WHERE valid
                                       GROUP BY code HAVING count(*) > 1)""")

    def merge(self, connection, run_id: int) -> dict:
        params = {"kind": self.area_kind, "run": run_id}
        # Taken away: the area has the name it had before the council's.
        removed = connection.execute(text(f"""
            WITH gone AS (
                DELETE FROM area_names n USING {STAGE} s
                 WHERE s.valid AND s.name IS NULL AND n.kind = :kind AND n.code = s.code
                RETURNING n.code, n.replaced_name
            ), restored AS (
                UPDATE areas a SET name = g.replaced_name, import_run_id = :run
                  FROM gone g
                 WHERE a.kind = :kind AND a.code = g.code AND g.replaced_name IS NOT NULL
                   AND a.name IS DISTINCT FROM g.replaced_name
                RETURNING a.code)
            SELECT count(*) FROM gone"""), params).scalar_one()
        counts = dict(connection.execute(text(f"""
            SELECT CASE WHEN n.code IS NULL THEN 'insert'
                        WHEN n.name = s.name THEN 'unchanged' ELSE 'update' END, count(*)
              FROM {STAGE} s LEFT JOIN area_names n ON n.kind = :kind AND n.code = s.code
             WHERE s.valid AND s.name IS NOT NULL GROUP BY 1"""), params).all())
        connection.execute(text(f"""
            INSERT INTO area_names AS n (kind, code, name, replaced_name)
            SELECT :kind, s.code, s.name, a.name
              FROM {STAGE} s JOIN areas a ON a.kind = :kind AND a.code = s.code
             WHERE s.valid AND s.name IS NOT NULL
            ON CONFLICT (kind, code) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
             WHERE n.name <> EXCLUDED.name"""), params)
        connection.execute(text(f"""
            UPDATE areas a SET name = s.name, import_run_id = :run
              FROM {STAGE} s
             WHERE s.valid AND s.name IS NOT NULL AND a.kind = :kind AND a.code = s.code
               AND a.name <> s.name"""), params)
        return {"inserted": counts.get("insert", 0), "updated": counts.get("update", 0),
                "unchanged": counts.get("unchanged", 0), "removed": removed}


def import_area_names(engine, area_kind: str, path, options: Options | None = None):
    """Give the areas of `area_kind` the council's names in `path` (code, name)."""
    return AreaNamesImporter(engine, area_kind, path, options).run()
