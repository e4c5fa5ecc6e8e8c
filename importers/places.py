"""Places from a file: community assets, transferred buildings, mutual aid groups, hubs.

A row becomes a place with its kind's details. Its location comes from the file's own
geometry, a WKT column, latitude/longitude, easting/northing, or its postcode looked up
in the postcodes table. Its key is (source, source_id): the file's id column, or when
there is none an id made from the row's name and location, so re-importing updates
places rather than duplicating them. Only columns the file has are written; what an
editor filled in that the file does not mention is kept.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date

import shapely

from importers import schedules, values
from importers.base import Importer, Options
from importers.fields import Field, column_notes, match_columns, read_fields, squash
from importers.kinds import KINDS, LOCATION_FIELDS, PLACE_FIELDS, Kind
from importers.places_checks import check_places
from importers.places_merge import merge_places
from importers.sources import GEOMETRY, safety
from importers.staging import ewkt_point, pg_array, pg_bool

BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _looks_like_grid(x: float, y: float) -> bool:
    return _in(x, BNG_EASTING) and _in(y, BNG_NORTHING) and (abs(x) > 180 or abs(y) > 90)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "place"


def _ewkb(geometry, srid: int) -> str:
    return shapely.to_wkb(shapely.set_srid(geometry, srid), hex=True, include_srid=True)


def coverage_geometry(raw):
    """A group's coverage: a list of {lat, lng} points (as the mutual aid API gives), a
    GeoJSON geometry or WKT text; returns a shapely polygon, None, or raises Invalid."""
    if raw is None or raw == "" or raw == []:
        return None
    try:
        if isinstance(raw, list):
            ring = [(float(p.get("lng", p.get("lon"))), float(p["lat"])) for p in raw]
            if len(ring) < 3:
                raise values.Invalid("a coverage area needs at least three points")
            return shapely.Polygon(ring)
        if isinstance(raw, dict):
            return shapely.geometry.shape(raw)
        return shapely.from_wkt(str(raw))
    except (TypeError, KeyError, ValueError, AttributeError, shapely.errors.ShapelyError):
        raise values.Invalid(f"{str(raw)[:60]!r} is not a coverage area") from None


class PlaceImporter(Importer):

    def __init__(self, engine, kind: Kind | str, path, options: Options | None = None):
        self.kind = KINDS[kind] if isinstance(kind, str) else kind
        self.what = self.kind.command
        self.run_kind = self.kind.kind
        super().__init__(engine, path, options)
        self.grid_in_degree_columns = 0
        self.grid_from_xy = 0
        self.refused_id = None
        self.district_counts: dict = {}

    # --- columns -----------------------------------------------------------------------

    def prepare(self, source) -> None:
        self.source = source
        fields = [*self.kind.fields, *PLACE_FIELDS, *LOCATION_FIELDS]
        match = match_columns(source.columns, fields, self.options.mapping,
                              source.truncated_names)
        if match.errors:
            return self.report.fail("; ".join(match.errors))
        columns = self.columns = match.columns
        if "name" not in columns:
            return self.report.fail(
                f"no column holds the name (columns: {', '.join(source.columns)}); "
                f"name one with --map name=COLUMN")
        if ("latitude" in columns) != ("longitude" in columns):
            have, lack = (("latitude", "longitude") if "latitude" in columns
                          else ("longitude", "latitude"))
            return self.report.fail(f"there is a {have} column ({columns[have]!r}) but no "
                                    f"{lack}; name it with --map {lack}=COLUMN")
        if ("easting" in columns) != ("northing" in columns):
            return self.report.fail("easting and northing come as a pair; name the missing "
                                    "one with --map easting=COLUMN or --map northing=COLUMN")
        if not (source.has_geometry or "wkt" in columns or "latitude" in columns
                or "easting" in columns or "postcode" in columns):
            return self.report.fail(
                "no column gives a location: the file needs latitude and longitude, easting "
                "and northing, a WKT geometry or a postcode (columns: "
                f"{', '.join(source.columns)}); name them with --map latitude=COLUMN ...")
        if self.options.crs and source.has_geometry:
            self.report.notes.append(f"--crs EPSG:{self.options.crs} overrides the file's own")
        self.xy_names = (squash(columns.get("latitude", "")) == "y"
                         or squash(columns.get("longitude", "")) == "x")
        # The coverage area is read apart: it may be a list of points, not text.
        self.readers: list[tuple[Field, str]] = [
            (f, columns[f.name]) for f in [*PLACE_FIELDS, *self.kind.fields]
            if f.name in columns and f.name != "coverage"]
        self.derived_ids = "source_id" not in columns
        self._layout()
        # Which stored columns the file sets; only these are written on update.
        self.mapped = {f.name for f, _ in self.readers} - {"source_id"}
        if "coverage" in columns:
            self.mapped.add("coverage")
        if self.options.contacts:
            self.mapped |= {"phone_public", "email_public"}
        if self.options.precision:
            self.mapped.add("location_precision")
        self.website_from_links = (self.kind.website_from_links and "links" in columns
                                   and "website" not in columns)
        if self.website_from_links:
            self.mapped.add("website")
        if self.derived_ids:
            self.report.notes.append(
                "the file has no id column, so each row's id is made from its name and "
                "location: a renamed or moved place is loaded as a new one (use --prune to "
                "remove the old)")
        self.report.notes.extend(column_notes(match))

    def stage_columns(self) -> list[tuple[str, str]]:
        place = [(f.column, f.sql_type) for f in PLACE_FIELDS]
        detail = [(f.column, f.sql_type) for f in self.kind.fields]
        return [*place, ("derived_id", "boolean"), ("geom", "geometry"),
                ("lookup", "text"), ("located_by", "text"), *detail]

    def _layout(self) -> None:
        """Where each field goes in a staged row, and how its value is written for COPY."""
        converters = {"text[]": pg_array, "boolean": pg_bool, "date": date.isoformat}
        names = [name for name, _ in self.stage_columns()]
        fields = {f.name: f for f in [*PLACE_FIELDS, *self.kind.fields]}
        self.slots = {name: (names.index(f.column), converters.get(f.sql_type))
                      for name, f in fields.items()}
        self.geometry_slot = names.index("geom")
        self.template = [None] * len(names)
        self.template[names.index("derived_id")] = pg_bool(self.derived_ids)

    # --- one row -----------------------------------------------------------------------

    def normalise(self, number: int, row: dict) -> list | None:
        report = self.report
        found, refused = read_fields(report, number, row, self.readers)
        if found.get("name") is None:
            report.error(number, "name", "the name is empty")
            refused = True
        located = self.locate(number, row, found)
        if located is None:
            refused = True
            location_key = None
        else:
            geom, lookup, located_by, location_key = located
        if self.derived_ids:
            source_id = self.derive_id(found.get("name"), location_key)
        else:
            source_id = found.get("source_id")
            if source_id is None:
                report.error(number, "source_id", f"the id ({self.columns['source_id']}) is empty")
                refused = True
        if refused:
            self.refused_id = source_id
            return None
        if self.website_from_links:
            found["website"] = (found.get("links") or [None])[0]
        if self.options.precision and found.get("location_precision") is None:
            found["location_precision"] = self.options.precision
        if self.options.contacts:
            public = self.options.contacts == "public"
            for name in ("phone_public", "email_public"):
                if found.get(name) is None:
                    found[name] = public
        if "coverage" in self.columns:
            found["coverage"] = self.coverage(number, row)
        staged = self.template.copy()
        slots = self.slots
        for name, value in found.items():
            if value is not None:
                index, convert = slots[name]
                staged[index] = convert(value) if convert else value
        staged[0] = source_id
        staged[self.geometry_slot:self.geometry_slot + 3] = geom, lookup, located_by
        return staged

    def refused_values(self, number: int, row: dict) -> list:
        staged = [None] * len(self.stage_columns())
        staged[0] = self.refused_id
        self.refused_id = None
        return staged

    def derive_id(self, name: str | None, location_key: str | None) -> str | None:
        if name is None or location_key is None:
            return None
        digest = hashlib.sha1(f"{name}|{location_key}".encode()).hexdigest()[:10]
        return f"{_slug(name)}-{digest}"

    def coverage(self, number: int, row: dict) -> str | None:
        try:
            shape = coverage_geometry(row.get(self.columns["coverage"]))
        except values.Invalid as problem:
            self.report.warn(number, "coverage", f"{problem}; left out")
            return None
        if shape is not None and (
                too_big := safety.too_many_vertices(shape, self.options.max_vertices)):
            self.report.warn(number, "coverage", f"{too_big}; left out")
            return None
        return None if shape is None or shape.is_empty else _ewkb(shapely.force_2d(shape), 4326)

    def locate(self, number: int, row: dict, found: dict):
        """(geometry as EWKT/EWKB, postcode to look up, how, key for derived ids), or
        None after reporting why the row has no usable location."""
        columns = self.columns
        report = self.report
        crs = self.options.crs
        wkb = row.get(GEOMETRY)
        if wkb is not None:
            shape = shapely.from_wkb(wkb)
            if not shape.is_empty:
                if too_big := safety.too_many_vertices(shape, self.options.max_vertices):
                    report.error(number, "geometry", too_big)
                    return None
                return (_ewkb(shapely.force_2d(shape), crs or self.source.srid), None,
                        "geometry", hashlib.sha1(wkb).hexdigest())
        if "wkt" in columns:
            cell = values.text(row.get(columns["wkt"]))
            if cell is not None:
                try:
                    shape = shapely.force_2d(shapely.from_wkt(cell))
                except shapely.errors.ShapelyError:
                    report.error(number, "wkt", f"{cell[:60]!r} is not a WKT geometry")
                    return None
                if too_big := safety.too_many_vertices(shape, self.options.max_vertices):
                    report.error(number, "wkt", too_big)
                    return None
                if not shape.is_empty:
                    srid = crs or self._guess_srid(shape.bounds)
                    return _ewkb(shape, srid), None, "wkt", cell
        if "latitude" in columns:
            point = self._point(number, row, "latitude", "longitude")
            if point is False:
                return None
            if point is not None:
                y, x = point
                srid = crs or 4326
                if srid == 4326:
                    if self.xy_names and _looks_like_grid(x, y):
                        srid = 27700
                        self.grid_from_xy += 1
                    elif not self._degrees_ok(number, x, y):
                        return None
                return ewkt_point(x, y, srid), None, "coordinates", f"{x:.6f},{y:.6f}"
        if "easting" in columns:
            point = self._point(number, row, "northing", "easting")
            if point is False:
                return None
            if point is not None:
                y, x = point
                srid = crs or 27700
                if srid == 27700 and not (_in(x, BNG_EASTING) and _in(y, BNG_NORTHING)):
                    report.error(number, "easting", f"{x:g}, {y:g} is not a British National "
                                 f"Grid easting and northing (0-700,000 and 0-1,300,000)")
                    return None
                return ewkt_point(x, y, srid), None, "grid", f"{x:.0f},{y:.0f}"
        postcode = found.get("postcode")
        if postcode is not None:
            key = values.postcode_key(postcode)
            return None, key, "postcode", key
        if "postcode" in columns and row.get(columns["postcode"]) not in (None, ""):
            return None  # the postcode is unreadable and already reported
        report.error(number, "location", "no location: the row needs latitude and longitude, "
                     "easting and northing, a WKT geometry or a postcode")
        return None

    def _point(self, number, row, y_name, x_name):
        """(y, x) from two columns; None if both are empty; False after an error."""
        y_column, x_column = self.columns[y_name], self.columns[x_name]
        try:
            y = values.number(row.get(y_column), y_name)
            x = values.number(row.get(x_column), x_name)
        except values.Invalid as problem:
            field_name = y_name if "not a " + y_name in str(problem) else x_name
            self.report.error(number, field_name, str(problem))
            return False
        if y is None and x is None:
            return None
        if y is None or x is None:
            empty = y_name if y is None else x_name
            self.report.error(number, empty, f"the {empty} is empty but the "
                              f"{x_name if y is None else y_name} is not")
            return False
        return y, x

    def _degrees_ok(self, number: int, lon: float, lat: float) -> bool:
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return True
        columns = self.columns
        if _looks_like_grid(lon, lat):
            self.grid_in_degree_columns += 1
            self.report.error(
                number, "latitude",
                f"{lat:,.0f}, {lon:,.0f} look like a northing and an easting (British National "
                f"Grid), not a latitude and longitude: if the {columns['latitude']!r} and "
                f"{columns['longitude']!r} columns hold northings and eastings, run again with "
                f"--crs EPSG:27700")
        elif not -90 <= lat <= 90:
            self.report.error(number, "latitude", f"latitude {lat:g} is outside -90 to 90")
        else:
            self.report.error(number, "longitude", f"longitude {lon:g} is outside -180 to 180")
        return False

    def _guess_srid(self, bounds) -> int:
        minx, miny, maxx, maxy = bounds
        if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
            return 4326
        return 27700

    # --- in the database: places_checks.py and places_merge.py ----------------------

    def check(self, connection) -> None:
        # What the district check left out or flagged, shown beside the merge's counts.
        self.district_counts = check_places(self, connection)

    def merge(self, connection, run_id: int) -> dict:
        counts = merge_places(self, connection, run_id)
        # Opening hours as structured schedules, for Open Referral and "open now".
        if (note := schedules.note(schedules.refresh(connection, run_id=run_id))) is not None:
            self.report.notes.append(note)
        return {**counts, **self.district_counts}


def import_places(engine, kind: str, path, options: Options | None = None):
    """Load places of `kind` ("assets", "transfers", "mutual-aid", "hubs") from `path`."""
    return PlaceImporter(engine, kind, path, options).run()
