"""Postcode → point, for placing rows that only have a postcode and for postcode search.

Reads the ONS Postcode Directory (a header with pcds, lat, long; postcodes without a grid
reference have lat 99.999999) or OS Code-Point Open (no header: postcode, quality,
easting, northing, ...; a .zip of its CSV files works too), or any CSV with a postcode
column and latitude/longitude or easting/northing columns.
"""
from __future__ import annotations

from sqlalchemy import text

from importers import values
from importers.base import STAGE, Importer
from importers.fields import Field, match_columns
from importers.sources import open_source
from importers.staging import ewkt_point

FIELDS = (
    Field("postcode", aliases=("pcds", "pcd", "pcd2", "postcodes", "post_code")),
    Field("latitude", aliases=("lat",)),
    Field("longitude", aliases=("long", "lon", "lng")),
    Field("easting", aliases=("oseast1m", "eastings", "east")),
    Field("northing", aliases=("osnrth1m", "northings", "north")),
)
# OS Code-Point Open's columns, which its CSV files do not name.
CODE_POINT = {"postcode": "column1", "easting": "column3", "northing": "column4"}
# Code-Point Open's zip: a CSV per postcode area (about 120) and its documentation.
ARCHIVE = {"max_members": 400, "other_files": True}


class PostcodeImporter(Importer):
    what = "postcodes"
    run_kind = "postcodes"
    count_names = ("inserted", "updated", "unchanged")

    def open_source(self):
        source = open_source(self.path, self.options.fmt or "csv", encoding=self.options.encoding,
                             archive=ARCHIVE)
        first = source.first_row()
        try:
            headerless = bool(first) and values.postcode(first[0]) is not None
        except values.Invalid:
            headerless = False
        if headerless:
            source = open_source(self.path, "csv", encoding=self.options.encoding,
                                 archive=ARCHIVE, header=False)
            source.notes.append("no header: read as OS Code-Point Open (postcode, quality, "
                                "easting, northing, ...)")
        self.headerless = headerless
        return source

    def prepare(self, source) -> None:
        if self.headerless:
            self.columns = dict(CODE_POINT)
        else:
            match = match_columns(source.columns, list(FIELDS), self.options.mapping)
            if match.errors:
                return self.report.fail("; ".join(match.errors))
            self.columns = match.columns
        columns = self.columns
        if "postcode" not in columns:
            return self.report.fail(f"no postcode column (columns: {', '.join(source.columns)})"
                                    f"; name it with --map postcode=COLUMN")
        self.by_degrees = "latitude" in columns and "longitude" in columns
        if not self.by_degrees and not ("easting" in columns and "northing" in columns):
            return self.report.fail("no latitude/longitude or easting/northing columns; name "
                                    "them with --map latitude=COLUMN ...")
        self.no_location = 0

    def stage_columns(self):
        return [("postcode", "text"), ("geom", "geometry")]

    def normalise(self, number, row):
        columns = self.columns
        try:
            postcode = values.postcode(row.get(columns["postcode"]))
        except values.Invalid as problem:
            self.report.error(number, "postcode", str(problem))
            return None
        if postcode is None:
            self.report.error(number, "postcode", "the postcode is empty")
            return None
        y_name, x_name = (("latitude", "longitude") if self.by_degrees
                          else ("northing", "easting"))
        try:
            y = values.number(row.get(columns[y_name]), y_name)
            x = values.number(row.get(columns[x_name]), x_name)
        except values.Invalid as problem:
            self.report.error(number, y_name, str(problem))
            return None
        if self.by_degrees:
            # ONSPD marks postcodes without a grid reference with 99.999999, 0.
            if y is None or x is None or not (-90 <= y <= 90 and -180 <= x <= 180):
                self.no_location += 1
                return [postcode, None]
            return [postcode, ewkt_point(x, y, 4326)]
        if not y or not x:
            self.no_location += 1
            return [postcode, None]
        return [postcode, ewkt_point(x, y, 27700)]

    def check(self, connection) -> None:
        connection.execute(text(f"""
            UPDATE {STAGE} SET geom = ST_Transform(geom, 4326)
             WHERE valid AND ST_SRID(geom) <> 4326"""))
        connection.execute(text(f"UPDATE {STAGE} SET skipped = true WHERE geom IS NULL"))
        repeats = connection.execute(text(f"""
            UPDATE {STAGE} s SET skipped = true
              FROM (SELECT row_number, row_number() OVER (
                           PARTITION BY replace(postcode, ' ', '') ORDER BY row_number) AS nth
                      FROM {STAGE} WHERE valid AND NOT skipped) d
             WHERE s.row_number = d.row_number AND d.nth > 1""")).rowcount
        if self.no_location:
            self.report.notes.append(f"{self.no_location:,} postcodes have no location in the "
                                     f"file and were left out")
        if repeats:
            self.report.notes.append(f"{repeats:,} repeated postcodes were loaded once")

    def merge(self, connection, run_id: int) -> dict:
        params = {"source": self.source_name, "run": run_id}
        actions = dict(connection.execute(text(f"""
            SELECT CASE WHEN p.postcode_key IS NULL THEN 'insert'
                        WHEN (p.postcode, p.geom) IS DISTINCT FROM (s.postcode, s.geom)
                        THEN 'update' ELSE 'unchanged' END, count(*)
              FROM {STAGE} s LEFT JOIN postcodes p ON p.postcode_key = replace(s.postcode, ' ', '')
             WHERE s.valid AND NOT s.skipped GROUP BY 1""")).all())
        connection.execute(text(f"""
            INSERT INTO postcodes AS p (postcode, geom, source, import_run_id)
            SELECT postcode, geom, :source, :run FROM {STAGE} WHERE valid AND NOT skipped
            ON CONFLICT (postcode_key) DO UPDATE
               SET postcode = EXCLUDED.postcode, geom = EXCLUDED.geom, source = EXCLUDED.source,
                   import_run_id = EXCLUDED.import_run_id
             WHERE (p.postcode, p.geom) IS DISTINCT FROM (EXCLUDED.postcode, EXCLUDED.geom)"""),
            params)
        return {"inserted": actions.get("insert", 0), "updated": actions.get("update", 0),
                "unchanged": actions.get("unchanged", 0)}


def import_postcodes(engine, path, options=None):
    return PostcodeImporter(engine, path, options).run()
