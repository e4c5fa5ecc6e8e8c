"""Figures by LSOA from the government's CSV files: the Index of Multiple Deprivation
(rank and decile) and mid-year population by age band.

The files come as published: UTF-8 with a BOM, CRLF line ends, numbers with thousands
separators in quotes ("29,199"), long descriptive headers. Columns are found by what
their names say; `--map FIELD=COLUMN` settles any doubt. Rows for LSOAs that are not
loaded are counted, not refused, so a national file can be loaded as it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text

from importers import values
from importers.areas import roll_up_population
from importers.base import STAGE, Importer
from importers.fields import squash


@dataclass(frozen=True)
class Figure:
    """A column of figures: stored in areas.<name>, found by a pattern on its header."""
    name: str
    pattern: str
    low: int
    high: int | None = None
    required: bool = True


CODE = re.compile(r"^(lsoa(11|21)?cd|lsoacode(20(11|21))?|lsoa|code|areacode|geographycode)$")


class StatisticsImporter(Importer):
    figures: tuple[Figure, ...] = ()

    def prepare(self, source) -> None:
        mapping = self.options.mapping
        columns = source.columns
        known = {"code", *(f.name for f in self.figures)}
        unknown = [name for name in mapping if name not in known]
        if unknown:
            return self.report.fail(f"--map {unknown[0]}=...: there is no field {unknown[0]!r} "
                                    f"(fields: {', '.join(sorted(known))})")
        self.code_column = self._column(columns, "code", CODE.pattern)
        if self.code_column is None:
            return self.report.fail(f"no LSOA code column (columns: {', '.join(columns)}); "
                                    f"name it with --map code=COLUMN")
        self.figure_columns = {}
        for figure in self.figures:
            column = self._column(columns, figure.name, figure.pattern)
            if column is None and figure.required:
                return self.report.fail(
                    f"no column for {figure.name.replace('_', ' ')} (columns: "
                    f"{', '.join(columns)}); name it with --map {figure.name}=COLUMN")
            if column is not None:
                self.figure_columns[figure.name] = column
        used = ", ".join(f"{k}={v}" for k, v in {"code": self.code_column,
                                                  **self.figure_columns}.items())
        self.report.notes.append(f"columns used: {used}")

    def _column(self, columns, name, pattern):
        wanted = self.options.mapping.get(name)
        if wanted:
            return next((c for c in columns if c == wanted or squash(c) == squash(wanted)), None)
        return next((c for c in columns if re.search(pattern, squash(c))), None)

    def stage_columns(self):
        return [("code", "text"), *((f.name, "integer") for f in self.figures)]

    def normalise(self, number, row):
        code = values.text(row.get(self.code_column))
        self._code = code
        if code is None:
            self.report.error(number, "code", "the LSOA code is empty")
            return None
        staged = [code]
        refused = False
        for figure in self.figures:
            column = self.figure_columns.get(figure.name)
            try:
                value = values.integer(row.get(column)) if column else None
            except values.Invalid as problem:
                self.report.error(number, figure.name, str(problem))
                refused = True
                continue
            if value is None and column and figure.required:
                self.report.error(number, figure.name, f"the {column!r} value is empty")
                refused = True
            elif value is not None and (value < figure.low or (
                    figure.high is not None and value > figure.high)):
                limit = f"{figure.low} to {figure.high}" if figure.high else f"at least {figure.low}"
                self.report.error(number, figure.name, f"{value:,} is not {limit}")
                refused = True
            staged.append(value)
        return None if refused else staged

    def refused_values(self, number, row):
        return [getattr(self, "_code", None)] + [None] * len(self.figures)

    def check(self, connection) -> None:
        if not connection.execute(text(
                "SELECT EXISTS (SELECT 1 FROM areas WHERE kind = 'lsoa')")).scalar():
            self.report.fail("no LSOAs are loaded: load their boundaries first "
                             "(assetmap boundaries lsoas FILE)")
            return
        names = [f.name for f in self.figures]
        self.refuse(connection, f"""
            SELECT row_number, 'code' AS field,
                   format('LSOA %s has more than one row with different figures (rows %s)',
                          code, string_agg(row_number::text, ', ') OVER (PARTITION BY code))
                   AS reason
              FROM {STAGE}
             WHERE valid AND code IN (
                   SELECT code FROM {STAGE} WHERE valid GROUP BY code
                   HAVING count(DISTINCT ({', '.join(names)})) > 1)""")
        connection.execute(text(f"""
            UPDATE {STAGE} s SET skipped = true
              FROM (SELECT row_number,
                           row_number() OVER (PARTITION BY code ORDER BY row_number) AS nth
                      FROM {STAGE} WHERE valid) d
             WHERE s.row_number = d.row_number AND d.nth > 1"""))

    def merge(self, connection, run_id: int) -> dict:
        names = [f.name for f in self.figures if f.name in self.figure_columns]
        left = ", ".join(f"a.{n}" for n in names)
        right = ", ".join(f"s.{n}" for n in names)
        counts = connection.execute(text(f"""
            SELECT count(*) FILTER (WHERE a.id IS NULL),
                   count(*) FILTER (WHERE a.id IS NOT NULL AND ({left}) IS NOT DISTINCT FROM ({right}))
              FROM {STAGE} s LEFT JOIN areas a ON a.kind = 'lsoa' AND a.code = s.code
             WHERE s.valid AND NOT s.skipped""")).one()
        updated = connection.execute(text(f"""
            UPDATE areas a SET {', '.join(f'{n} = s.{n}' for n in names)}, import_run_id = :run
              FROM {STAGE} s
             WHERE a.kind = 'lsoa' AND a.code = s.code AND s.valid AND NOT s.skipped
               AND ({left}) IS DISTINCT FROM ({right})"""), {"run": run_id}).rowcount
        missing = connection.execute(text(f"""
            SELECT count(*) FROM areas a WHERE a.kind = 'lsoa' AND NOT EXISTS (
                SELECT 1 FROM {STAGE} s WHERE s.valid AND s.code = a.code)""")).scalar_one()
        if counts[0]:
            examples = connection.execute(text(f"""
                SELECT string_agg(code, ', ' ORDER BY row_number) FROM (
                    SELECT s.code, s.row_number FROM {STAGE} s
                     WHERE s.valid AND NOT s.skipped AND NOT EXISTS (
                           SELECT 1 FROM areas a WHERE a.kind = 'lsoa' AND a.code = s.code)
                     ORDER BY s.row_number LIMIT 5) e""")).scalar()
            self.report.notes.append(
                f"{counts[0]:,} rows are for LSOAs that are not loaded (e.g. {examples}); "
                f"that is expected for a national file")
        if missing:
            self.report.notes.append(f"{missing:,} loaded LSOAs have no row in this file")
        self.after_merge(connection)
        return {"updated": updated, "unchanged": counts[1], "not loaded": counts[0]}

    def after_merge(self, connection) -> None:
        pass


class DeprivationImporter(StatisticsImporter):
    what = "deprivation"
    run_kind = "deprivation"
    figures = (
        Figure("imd_rank", r"(^imd|indexofmultipledeprivation).*rank|^rank$", 1),
        Figure("imd_decile", r"(^imd|indexofmultipledeprivation).*decile|^decile$", 1, 10),
    )


class PopulationImporter(StatisticsImporter):
    what = "population"
    run_kind = "population"
    figures = (
        Figure("population", r"^(totalpopulation|allages|population$|total$)", 0),
        Figure("population_0_15", r"aged?0(to)?15|^0to15|^children", 0, required=False),
        Figure("population_16_59", r"aged?16(to)?59|^16to59", 0, required=False),
        Figure("population_60_plus", r"aged?60(andover|plus)|^60(andover|plus)", 0,
               required=False),
    )

    def after_merge(self, connection) -> None:
        changed = roll_up_population(connection)
        if changed:
            self.report.notes.append(f"{changed:,} wards and neighbourhoods have new totals "
                                     f"(the sum of their LSOAs)")


def import_deprivation(engine, path, options=None):
    return DeprivationImporter(engine, path, options).run()


def import_population(engine, path, options=None):
    return PopulationImporter(engine, path, options).run()
