"""Postcode → point, for placing rows that only have a postcode and for postcode search.

Reads the ONS Postcode Directory (a header with pcds, lat, long; postcodes without a grid
reference have lat 99.999999) or OS Code-Point Open (no header: postcode, quality,
easting, northing, ...; a .zip of its CSV files works too), or any CSV with a postcode
column and latitude/longitude or easting/northing columns.

Only the district's postcodes are kept: those within `district_margin_m`
(DISTRICT_MARGIN_M, 2,000 m) of the loaded wards, so the whole-GB Code-Point Open zip
(1.7 million rows) leaves about the district and its edge. Rows outside the wards' box
plus the margin are dropped while reading, before they are staged; the exact distance is
then one ST_DWithin in SQL. `everywhere` keeps every row (and needs no wards);
`district` keeps the rows whose admin district code is that one instead.
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
    Field("district", aliases=("admin_district_code", "oslaua", "laua", "lad")),
)
# OS Code-Point Open's columns, which its CSV files do not name.
CODE_POINT = {"postcode": "column1", "easting": "column3", "northing": "column4",
              "district": "column9"}
# Slack on the reading-time box in degrees (about 1 km), so the cheap cut never drops a
# row the exact distance would keep.
DEGREE_SLACK = 0.015
# Code-Point Open's zip: a CSV per postcode area (about 120) and its documentation.
ARCHIVE = {"max_members": 400, "other_files": True}


class PostcodeImporter(Importer):
    what = "postcodes"
    run_kind = "postcodes"

    def __init__(self, engine, path, options=None, *, everywhere: bool = False,
                 district: str | None = None):
        super().__init__(engine, path, options)
        self.everywhere = everywhere
        self.district = district.strip().upper() if district else None

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
        if self.district and "district" not in columns:
            return self.report.fail("--district: the file has no admin district column; name "
                                    "it with --map district=COLUMN")
        self.no_location = 0
        self.read = self.cut_while_reading = self.cut_by_distance = 0

    def _stage(self, connection, source, names) -> None:
        # The base loop, fed only the rows near the district: most of a national file
        # never reaches the database.
        self.box = None
        if not (self.everywhere or self.district):
            self.box = self._district_box(connection)
            if self.box is None:
                return
        super()._stage(connection, _Kept(source, self._keep), names)
        self.report.rows = self.read

    def _district_box(self, connection):
        """(min x, min y, max x, max y) of the wards plus the margin, in the file's CRS."""
        box = connection.execute(text("""
            WITH bng AS (SELECT ST_Expand(ST_SetSRID(ST_Extent(geom_bng)::geometry, 27700),
                                            :margin) AS box
                           FROM areas WHERE kind = 'ward')
            SELECT ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box),
                   ST_XMin(d), ST_YMin(d), ST_XMax(d), ST_YMax(d)
              FROM bng, ST_Transform(ST_Segmentize(box, 500), 4326) AS d
             WHERE box IS NOT NULL"""), {"margin": self.options.district_margin_m}).first()
        if box is None:
            self.report.fail("no wards are loaded, so the district's postcodes cannot be told "
                             "from the rest: load the wards first (assetmap boundaries wards "
                             "FILE), or keep every postcode with --everywhere")
            return None
        if self.by_degrees:
            return (box[4] - DEGREE_SLACK, box[5] - DEGREE_SLACK,
                    box[6] + DEGREE_SLACK, box[7] + DEGREE_SLACK)
        return box[:4]

    def _keep(self, row) -> bool:
        self.read += 1
        columns = self.columns
        if self.district:
            code = (row.get(columns["district"]) or "").strip().upper()
            if code != self.district:
                self.cut_while_reading += 1
                return False
            return True
        if self.box is None:
            return True
        x_name, y_name = ("longitude", "latitude") if self.by_degrees else ("easting", "northing")
        try:
            x, y = float(row.get(columns[x_name])), float(row.get(columns[y_name]))
        except (TypeError, ValueError):
            return True  # normalise() names the bad value
        if not x or not y or (self.by_degrees and not -90 <= y <= 90):
            return True  # counted as having no location
        min_x, min_y, max_x, max_y = self.box
        if min_x <= x <= max_x and min_y <= y <= max_y:
            return True
        self.cut_while_reading += 1
        return False

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
        if self.report.fatal:
            return
        connection.execute(text(f"UPDATE {STAGE} SET skipped = true WHERE geom IS NULL"))
        connection.execute(text(f"""
            UPDATE {STAGE} SET geom = ST_Transform(geom, 4326)
             WHERE valid AND NOT skipped AND ST_SRID(geom) <> 4326"""))
        if self.box is not None:
            self._cut_by_distance(connection)
        self._note_left_out()
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

    def _cut_by_distance(self, connection) -> None:
        """Leave out the staged postcodes further than the margin from every ward. Those
        inside a ward are found first on its small pieces (area_parts), which is quick;
        only the rest are measured against whole wards."""
        outside = connection.execute(text(f"""
            UPDATE {STAGE} s SET skipped = true
             WHERE valid AND NOT skipped AND NOT EXISTS (
                   SELECT 1 FROM area_parts a
                    WHERE a.kind = 'ward' AND ST_Intersects(a.geom, s.geom))""")).rowcount
        near = connection.execute(text(f"""
            UPDATE {STAGE} s SET skipped = false
             WHERE valid AND skipped AND geom IS NOT NULL AND EXISTS (
                   SELECT 1 FROM areas a
                    WHERE a.kind = 'ward'
                      AND ST_DWithin(a.geom_bng, ST_Transform(s.geom, 27700), :margin))"""),
            {"margin": self.options.district_margin_m}).rowcount
        self.cut_by_distance = outside - near

    def _note_left_out(self) -> None:
        left_out = self.cut_while_reading + self.cut_by_distance
        if self.district:
            self.report.notes.append(f"kept the postcodes of admin district {self.district}; "
                                     f"{left_out:,} of other districts were left out")
        elif self.box is None:
            self.report.notes.append("--everywhere: every postcode in the file was kept")
        else:
            margin = self.options.district_margin_m
            self.report.notes.append(
                f"kept the postcodes within {margin:,.0f} m of the wards (DISTRICT_MARGIN_M); "
                f"{left_out:,} further away were left out ({self.cut_while_reading:,} outside "
                f"the wards' box while reading, {self.cut_by_distance:,} by the exact "
                f"distance)")

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
                "unchanged": actions.get("unchanged", 0),
                "left out": self.cut_while_reading + self.cut_by_distance}


class _Kept:
    """A source that yields only the rows `keep` accepts, numbered as in the file."""

    def __init__(self, source, keep):
        self.source, self.keep = source, keep

    def __getattr__(self, name):
        return getattr(self.source, name)

    def rows(self):
        keep = self.keep
        for number, row in self.source.rows():
            if keep(row):
                yield number, row


def import_postcodes(engine, path, options=None, *, everywhere: bool = False,
                     district: str | None = None):
    """Load postcode points from `path`: those near the wards, unless `everywhere` or
    `district` (an admin district code, e.g. E08000034) says otherwise."""
    return PostcodeImporter(engine, path, options, everywhere=everywhere,
                            district=district).run()
