"""The SQL that serves every layer: GeoJSON pages, single features, streamed GeoJSON and
CSV downloads, vector tiles, nearest places and collection extents.

PostgreSQL builds the output text itself (ST_AsGeoJSON, row_to_json, string_agg, ST_AsMVT)
so Python only passes bound parameters and hands the text on. Statements are assembled
from small clause methods, as tipg does: identifiers and fragments come only from the
layer registry and are quoted; every value from a request is a bound parameter.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from layers.crs import Crs
from layers.filters import FilterSQL
from layers.query import Query
from layers.registry import LAYERS, Field, Layer

MVT_EXTENT = 4096
MVT_BUFFER = 64
CSV_SEPARATOR = "; "


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal for a constant from the registry (never a request value)."""
    return "'" + value.replace("'", "''") + "'"


class Params:
    """Bound parameters, named in order (:p0, :p1, ...)."""

    def __init__(self) -> None:
        self.values: dict = {}

    def __call__(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return ":" + name


@dataclass
class Statement:
    sql: str
    params: dict

    def clause(self) -> TextClause:
        return text(self.sql)

    def execute(self, connection):
        return connection.execute(self.clause(), self.params)


def _json_value(f: Field) -> str:
    if f.type == "date-time":
        return f"""to_char({f.sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    return f.sql


def _days_in_month(day) -> int:
    following = day.replace(day=28) + dt.timedelta(days=4)
    return (following - dt.timedelta(days=following.day)).day


def _contains(value: str) -> str:
    """An ILIKE pattern matching text that contains `value` literally."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _neutralised(expression: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before
    # one) as a formula: such text gets a leading apostrophe, so it stays text.
    return (f"CASE WHEN {expression} ~ '^[=+@\\t\\r-]' THEN '''' || {expression} "
            f"ELSE {expression} END")


def _csv_cell(expression: str, type_: str) -> str:
    if type_ in ("integer", "number"):
        return f"coalesce(({expression})::text, '')"
    if type_ == "boolean":
        return f"CASE WHEN {expression} THEN 'true' WHEN NOT {expression} THEN 'false' ELSE '' END"
    if type_ == "date":
        return f"coalesce(({expression})::text, '')"
    if type_ == "date-time":
        value = f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return f"coalesce({value}, '')"
    if type_ == "string[]":
        expression = f"array_to_string({expression}, {literal(CSV_SEPARATOR)})"
    return (f"""coalesce('"' || replace({_neutralised(f"({expression})")}, '"', '""') || '"', '')""")


def _mvt_value(f: Field) -> str:
    if f.type == "string[]":
        return f"array_to_string({f.sql}, {literal(CSV_SEPARATOR)})"
    if f.type in ("date", "date-time"):
        return _json_value(f) if f.type == "date-time" else f"({f.sql})::text"
    return f.sql


@functools.cache
def _joins_for(joins: tuple[str, ...], fields: tuple[Field, ...]) -> tuple[str, ...]:
    # A join reads as "LEFT JOIN <table> <alias> ON ...": keep it if a field uses <alias>.
    return tuple(join for join in joins
                 if any(re.search(rf"\b{re.escape(join.split()[3])}\.", f.sql) for f in fields))


class LayerSQL:
    """The statements for one layer and one checked query."""

    def __init__(self, layer: Layer, query: Query | None = None):
        self.layer = layer
        self.source = layer.source
        self.query = query or Query()
        self.bind = Params()

    # -- clauses --------------------------------------------------------------------

    def _from(self) -> str:
        return f"{self.source.table} {self.source.alias}"

    def _joins(self, fields: tuple[Field, ...]) -> tuple[str, ...]:
        """The source's and layer's joins that `fields` read from: a page of names and
        kinds is not joined to four detail tables."""
        return _joins_for((*self.source.joins, *self.layer.joins), fields)

    def _joined_from(self) -> str:
        return " ".join([self._from(), *self._joins(self._fields())])

    def _fields(self) -> tuple[Field, ...]:
        if self.query.properties is None:
            return self.layer.fields
        return tuple(f for f in self.layer.fields if f.name in self.query.properties)

    def _geometry_json(self, crs: Crs | None = None) -> str:
        crs = crs or self.query.crs
        if crs.metric:
            geometry = f"ST_ForcePolygonCCW({self.source.geom_bng})"
        elif crs.lat_first:
            geometry = f"ST_FlipCoordinates({self.source.geom})"
        else:
            # RFC 7946: exterior rings counter-clockwise, holes clockwise.
            geometry = f"ST_ForcePolygonCCW({self.source.geom})"
        # Option 0: no "crs" member in a geometry; a document not in CRS84 names its CRS
        # once, at the top (layers.crs.legacy_crs_member).
        return f"ST_AsGeoJSON({geometry}, {crs.decimals}, 0)"

    def _property_columns(self, extra: tuple[tuple[str, str], ...] = ()) -> list[str]:
        columns = [f"{_json_value(f)} AS {quote(f.name)}" for f in self._fields()]
        return columns + [f"{expression} AS {quote(name)}" for name, expression in extra]

    def _properties_json(self, extra: tuple[tuple[str, str], ...] = ()) -> str:
        """The properties of the row in hand as a one-row subquery, joins inside: for
        statements that build a handful of features (one item, the nearest ten)."""
        columns = self._property_columns(extra)
        if not columns:
            return "'{}'"
        joins = " ".join(self._joins(self._fields()))
        source = f" FROM (SELECT 1) one {joins}" if joins else ""
        return f"(SELECT row_to_json(r) FROM (SELECT {', '.join(columns)}{source}) r)::text"

    def _properties_from(self) -> str:
        """What a FROM over many rows adds for `_feature(joined=True)`: the joins the
        fields read, and the properties as one lateral row named `props`. Joined in the
        FROM, the planner joins a page at once instead of running a subquery per row."""
        columns = self._property_columns()
        lateral = [f"CROSS JOIN LATERAL (SELECT {', '.join(columns)}) props"] if columns else []
        return " ".join([*self._joins(self._fields()), *lateral])

    def _id_json(self) -> str:
        if self.source.id_type == "integer":
            return f"({self.source.id_sql})::text"
        return f"to_json({self.source.id_sql})::text"

    def _feature(self, extra: tuple[tuple[str, str], ...] = (), joined: bool = False) -> str:
        """One GeoJSON feature as text. `joined`: the FROM holds `_properties_from()`."""
        if joined:
            # row_to_json of the lateral row: compact JSON in field order.
            properties = "row_to_json(props)::text" if self._property_columns() else "'{}'"
        else:
            properties = self._properties_json(extra)
        return ("""'{"type":"Feature","id":' || """ + self._id_json()
                + """ || ',"geometry":' || """ + self._geometry_json()
                + """ || ',"properties":' || """ + properties + " || '}'")

    def _bbox_clause(self) -> str | None:
        bbox = self.query.bbox
        if bbox is None:
            return None
        column = self.source.geom_bng if bbox.crs.metric else self.source.geom
        boxes = [f"ST_Intersects({column}, ST_MakeEnvelope({self.bind(x0)}, {self.bind(y0)}, "
                 f"{self.bind(x1)}, {self.bind(y1)}, {bbox.crs.srid}))"
                 for x0, y0, x1, y1 in bbox.boxes]
        return boxes[0] if len(boxes) == 1 else "(" + " OR ".join(boxes) + ")"

    def _area_clause(self, kind: str, code: str) -> str:
        alias = self.source.alias
        if self.layer.is_places:
            if kind == "ward":
                return f"{alias}.ward_code = {self.bind(code)}"
            return f"{alias}.neighbourhood_codes @> ARRAY[CAST({self.bind(code)} AS text)]"
        # An area is in the ward (or neighbourhood) that holds a point on its surface.
        return (f"EXISTS (SELECT 1 FROM area_parts ap WHERE ap.kind = {literal(kind)} "
                f"AND ap.code = {self.bind(code)} "
                f"AND ST_Intersects(ap.geom, ST_PointOnSurface({self.source.geom})))")

    def _where(self) -> str:
        q = self.query
        alias = self.source.alias
        clauses = [self.source.live, self.layer.where]
        if q.ward:
            clauses.append(self._area_clause("ward", q.ward))
        if q.neighbourhood:
            clauses.append(self._area_clause("neighbourhood", q.neighbourhood))
        if q.categories:
            clauses.append(f"{alias}.categories && CAST({self.bind(list(q.categories))} AS text[])")
        if q.kinds:
            clauses.append(f"{alias}.kind = ANY(CAST({self.bind(list(q.kinds))} AS text[]))")
        if q.q:
            pattern = self.bind(_contains(q.q))
            clauses.append("(" + " OR ".join(f"{c} ILIKE {pattern}" for c in self.source.search)
                           + ")")
        if q.name:
            clauses.append(f"{self.source.search[0]} ILIKE {self.bind(_contains(q.name))}")
        if self.layer.is_places and (q.open_on or q.age is not None or q.language):
            clauses.append(self._service_clause())
        if q.updated_since:
            clauses.append(f"{self.source.updated} >= {self.bind(q.updated_since)}")
        if q.datetime:
            start, end = q.datetime
            if start:
                clauses.append(f"{self.source.updated} >= {self.bind(start)}")
            if end:
                clauses.append(f"{self.source.updated} <= {self.bind(end)}")
        bbox = self._bbox_clause()
        if bbox:
            clauses.append(bbox)
        if q.filter is not None:
            clauses.append(FilterSQL({f.name: f for f in self.layer.queryables},
                                     self.source.geom, self.source.geom_bng,
                                     self.bind).sql(q.filter))
        return " AND ".join(c for c in clauses if c != "TRUE") or "TRUE"

    def _service_clause(self) -> str:
        """A place with one service (its own, or the one derived from it: migration 0007)
        that meets every service filter at once: open then, for that age, in that
        language."""
        q = self.query
        conditions = [f"s.place_id = {self.source.alias}.id"]
        if q.age is not None:
            age = self.bind(q.age)
            conditions.append(f"coalesce(s.minimum_age, 0) <= {age} "
                              f"AND coalesce(s.maximum_age, 200) >= {age}")
        if q.language:
            conditions.append(f"CAST({self.bind(q.language)} AS text) = ANY(s.languages)")
        if q.open_on:
            day, at, on = q.open_on
            days = [f"right(d, 2) = {self.bind(day)}"]
            if on is not None:
                # A monthly session (1TU, -1FR) counts only in its week of the month.
                week, last = (on.day + 6) // 7, on.day + 7 > _days_in_month(on)
                days.append(f"(length(d) = 2 OR left(d, -2) = {self.bind(str(week))}"
                            + (" OR left(d, -2) = '-1'" if last else "") + ")")
            session = [f"EXISTS (SELECT 1 FROM unnest(sc.byday) d WHERE {' AND '.join(days)})"]
            if at is not None:
                at_bound = f"CAST({self.bind(at)} AS time)"
                session.append(f"sc.opens_at <= {at_bound} AND sc.closes_at > {at_bound}")
            # By indexed columns: a service's own sessions, or its place's when derived.
            conditions.append(
                "EXISTS (SELECT 1 FROM schedules sc WHERE ((NOT s.derived AND sc.service_id = "
                "s.id) OR (s.derived AND sc.place_id = s.place_id)) AND "
                + " AND ".join(session) + ")")
        return ("EXISTS (SELECT 1 FROM published_services s WHERE "
                + " AND ".join(conditions) + ")")

    def _where_unfiltered(self) -> str:
        return " AND ".join(c for c in (self.source.live, self.layer.where) if c != "TRUE") \
            or "TRUE"

    def _order(self) -> str:
        return self.source.id_sql

    def _known_codes(self) -> str:
        """Columns saying whether the ward and neighbourhood asked for exist (else 404)."""
        columns = []
        for kind, code in (("ward", self.query.ward), ("neighbourhood", self.query.neighbourhood)):
            value = f"EXISTS (SELECT 1 FROM areas WHERE kind = {literal(kind)} AND code = " \
                    f"{self.bind(code)})" if code else "TRUE"
            columns.append(f"{value} AS {kind}_known")
        return ", ".join(columns)

    def _version(self) -> str:
        # published_version (migration 0008) also moves when an opportunity closes.
        return "(SELECT version FROM published_version) AS version, " \
               "(SELECT changed_at FROM published_version) AS changed_at"

    # -- statements -------------------------------------------------------------------

    def items(self) -> Statement:
        """One row: data version, numberMatched, the page's features joined by commas, and
        whether the ward/neighbourhood filters name real areas. One round trip."""
        where = self._where()
        order = self._order()
        limit, offset = self.bind(self.query.limit), self.bind(self.query.offset)
        features = f"coalesce(string_agg({self._feature(joined=True)}, ',' ORDER BY {order}), '')"
        properties = self._properties_from()
        if where == self._where_unfiltered():
            # The whole layer: count by index, page in id order; rows skipped by the offset
            # are never turned into JSON.
            sql = (
                f"SELECT {self._version()}, "
                f"(SELECT count(*) FROM {self._from()} WHERE {where}) AS matched, "
                f"(SELECT {features} FROM (SELECT {self.source.alias}.* FROM {self._from()} "
                f"WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}) "
                f"{self.source.alias} {properties}) AS features, {self._known_codes()}")
        else:
            # Filtered: one pass over the matching rows gives both the count and the page's
            # keys; only the page's rows are fetched again to build their JSON.
            sql = (
                f"WITH matched AS MATERIALIZED (SELECT {order} AS key FROM {self._from()} "
                f"WHERE {where}) "
                f"SELECT {self._version()}, (SELECT count(*) FROM matched) AS matched, "
                f"(SELECT {features} FROM (SELECT key FROM matched ORDER BY key "
                f"LIMIT {limit} OFFSET {offset}) page JOIN {self._from()} ON {order} = page.key "
                f"{properties}) AS features, {self._known_codes()}")
        return Statement(sql, self.bind.values)

    def item(self, feature_id) -> Statement:
        where = self._where() + f" AND {self.source.id_sql} = {self.bind(feature_id)}"
        sql = (f"SELECT {self._version()}, (SELECT {self._feature()} FROM {self._from()} "
               f"WHERE {where}) AS feature")
        return Statement(sql, self.bind.values)

    def version(self) -> Statement:
        return Statement(f"SELECT {self._version()}", {})

    def geojson_rows(self) -> Statement:
        """Every matching feature as a row of GeoJSON text, in id order (for streaming)."""
        sql = (f"SELECT {self._feature(joined=True)} FROM {self._from()} "
               f"{self._properties_from()} WHERE {self._where()} ORDER BY {self._order()}")
        return Statement(sql, self.bind.values)

    def name_order(self) -> Statement:
        """The ids of one page (limit, offset) of the matching rows in name order: the
        finder's list. Unfiltered, it walks places_name_order_idx and reads only its page."""
        sql = (f"SELECT {self._order()} AS id FROM {self._from()} WHERE {self._where()} "
               f"ORDER BY lower({self.source.search[0]}), {self._order()} "
               f"LIMIT {self.bind(self.query.limit)} OFFSET {self.bind(self.query.offset)}")
        return Statement(sql, self.bind.values)

    def count(self) -> Statement:
        return Statement(f"SELECT count(*) FROM {self._from()} WHERE {self._where()}",
                         self.bind.values)

    def known_codes(self) -> Statement:
        return Statement(f"SELECT {self._version()}, {self._known_codes()}", self.bind.values)

    def csv_header(self) -> list[str]:
        return (["id"] + [f.name for f in self._fields()]
                + (["longitude", "latitude", "wkt"] if self.query.crs.srid == 4326
                   else ["easting", "northing", "wkt"]))

    def csv_rows(self) -> Statement:
        """Every matching feature as one CSV line (RFC 4180, formula-safe), in id order."""
        crs = self.query.crs
        geometry = self.source.geom_bng if crs.metric else self.source.geom
        anchor = f"ST_PointOnSurface({geometry})"
        id_cell = _csv_cell(self.source.id_sql, "integer" if self.source.id_type == "integer"
                            else "string")
        cells = [id_cell] + [_csv_cell(f.sql, f.type) for f in self._fields()]
        x, y = f"ST_X({anchor})", f"ST_Y({anchor})"
        if crs.lat_first:
            x, y = y, x
        cells += [f"round(({x})::numeric, {crs.decimals})::text",
                  f"round(({y})::numeric, {crs.decimals})::text",
                  f"""'"' || ST_AsText({f"ST_FlipCoordinates({geometry})" if crs.lat_first
                                      else geometry}, {crs.decimals}) || '"'"""]
        sql = (f"SELECT concat_ws(',', {', '.join(cells)}) FROM {self._joined_from()} "
               f"WHERE {self._where()} ORDER BY {self._order()}")
        return Statement(sql, self.bind.values)

    def tile(self, z: int, x: int, y: int) -> Statement:
        """The layer's features in tile z/x/y (Web Mercator) as one Mapbox Vector Tile."""
        tile_z, tile_x, tile_y = self.bind(z), self.bind(x), self.bind(y)
        fields = [f for f in self.layer.fields if f.name in self.layer.tile_fields]
        columns = [f"{_mvt_value(f)} AS {quote(f.name)}" for f in fields]
        id_column = ""
        if self.source.id_type == "integer":
            id_column = f"{self.source.id_sql} AS id, "
        margin = MVT_BUFFER / MVT_EXTENT
        sql = (
            f"WITH bounds AS (SELECT ST_TileEnvelope({tile_z}, {tile_x}, {tile_y}) AS tile, "
            f"ST_Transform(ST_TileEnvelope({tile_z}, {tile_x}, {tile_y}, margin => {margin}), "
            f"4326) AS area), "
            f"rows AS (SELECT {id_column}{', '.join(columns)}, "
            f"ST_AsMVTGeom(ST_Transform({self.source.geom}, 3857), bounds.tile, {MVT_EXTENT}, "
            f"{MVT_BUFFER}, true) AS geom "
            f"FROM {self._from()}, bounds "
            f"WHERE {self._where()} AND {self.source.geom} && bounds.area) "
            f"SELECT {self._version()}, (SELECT ST_AsMVT(rows, {literal(self.layer.id)}, "
            f"{MVT_EXTENT}, 'geom'{', ' + literal('id') if id_column else ''}) FROM rows "
            f"WHERE rows.geom IS NOT NULL) AS tile, {self._known_codes()}")
        return Statement(sql, self.bind.values)

    def _origin(self, lon: float | None, lat: float | None, postcode_key: str | None) -> str:
        """The point nearest places are measured from, as a one-row CTE body."""
        if postcode_key is not None:
            return ("SELECT geom_bng AS g, ST_X(geom) AS lon, ST_Y(geom) AS lat, postcode "
                    f"FROM postcodes WHERE postcode_key = {self.bind(postcode_key)}")
        return (f"SELECT ST_Transform(ST_SetSRID(ST_MakePoint({self.bind(lon)}, "
                f"{self.bind(lat)}), 4326), 27700) AS g, "
                f"CAST({self.bind(lon)} AS float8) AS lon, "
                f"CAST({self.bind(lat)} AS float8) AS lat, NULL::text AS postcode")

    def _nearest_rows(self, columns: str) -> str:
        """The `limit` rows nearest the CTE `origin`, by true distance on the British
        National Grid, found through the GiST index (KNN `<->`), not a full sort. (A
        second sort key would cost the index walk; callers break ties by `sort_key`.)
        Each row says whether a service of the place has an area that holds the origin
        (`covers`). With `covering`, the farther places that cover the origin follow, however
        far away (`extra`), found from the areas that hold the point (GiST), not by testing
        every place. Every nearest answer, the feed's and the finder page's, is this one
        selection."""
        point = "(SELECT g FROM origin)"
        alias = self.source.alias
        distance = f"ST_Distance({self.source.geom_bng}, {point}) AS distance_m"
        # The places whose service areas hold the point, found once from the areas (GiST)
        # and kept: as a correlated subquery, a database without statistics yet ran it
        # once per place (36 s for 350 places).
        covering = ("WITH covering AS MATERIALIZED (SELECT a.place_id FROM "
                    "published_service_areas a WHERE ST_Intersects(a.geom, "
                    f"ST_Transform({point}, 4326))) ")
        where = self._where()
        knn = (f"SELECT {columns}, {self._order()} AS sort_key, {distance} "
               f"FROM {self._from()} WHERE {where} "
               f"ORDER BY {self.source.geom_bng} <-> {point} "
               f"LIMIT {self.bind(self.query.limit)}")
        if not self.layer.is_places:
            return f"SELECT *, false AS covers, false AS extra FROM ({knn}) knn"
        first = (f"SELECT knn.*, knn.sort_key IN (SELECT place_id FROM covering) AS covers, "
                 f"false AS extra FROM ({knn}) knn")
        if not self.query.covering:
            return covering + first
        return (f"{covering}{first} UNION ALL "
                f"SELECT {columns}, {self._order()} AS sort_key, {distance}, true, true "
                f"FROM {self._from()} WHERE {where} AND {alias}.id IN "
                f"(SELECT place_id FROM covering) AND {self._order()} NOT IN "
                f"(SELECT sort_key FROM ({knn}) again)")

    def nearest(self, *, lon: float | None = None, lat: float | None = None,
                postcode_key: str | None = None) -> Statement:
        """One row: the origin, the data version and the nearest features as GeoJSON text,
        each with its `distance_m` and whether it `covers` the origin; with `covering`, the
        farther places that cover it as `covering`."""
        alias = self.source.alias
        extra = (("distance_m", f"round({alias}.distance_m)::integer"),)
        if self.layer.is_places:
            extra += (("covers", f"{alias}.covers"),)
        feature = self._feature(extra=extra)
        features = (f"coalesce(string_agg({feature}, ',' ORDER BY {alias}.distance_m, "
                    f"{alias}.sort_key) FILTER (WHERE NOT {alias}.extra), '')")
        covering = (f"coalesce(string_agg({feature}, ',' ORDER BY {alias}.distance_m, "
                    f"{alias}.sort_key) FILTER (WHERE {alias}.extra), '')")
        sql = (
            f"WITH origin AS ({self._origin(lon, lat, postcode_key)}) "
            f"SELECT {self._version()}, "
            "(SELECT lon FROM origin) AS origin_lon, (SELECT lat FROM origin) AS origin_lat, "
            "(SELECT postcode FROM origin) AS origin_postcode, "
            f"near.features, near.covering FROM (SELECT {features} AS features, "
            f"{covering} AS covering FROM ({self._nearest_rows(f'{alias}.*')}) {alias}) near")
        return Statement(sql, self.bind.values)

    def nearest_ids(self, *, postcode_key: str) -> Statement:
        """The nearest rows' ids and distances, nearest first: for a caller that reads
        the rows themselves (the finder's list). The same selection as nearest()."""
        sql = (f"WITH origin AS ({self._origin(None, None, postcode_key)}) "
               f"SELECT id, distance_m, covers, extra "
               f"FROM ({self._nearest_rows(f'{self._order()} AS id')}) "
               "near ORDER BY distance_m, sort_key")
        return Statement(sql, self.bind.values)


def extents() -> Statement:
    """For every layer: its bounding box in CRS84, its update-time range and its size."""
    selects = []
    for layer in LAYERS.values():
        source = layer.source
        selects.append(
            f"SELECT {literal(layer.id)} AS layer, ST_XMin(e) AS minx, ST_YMin(e) AS miny, "
            f"ST_XMax(e) AS maxx, ST_YMax(e) AS maxy, first_update, last_update, size FROM ("
            f"SELECT ST_Extent({source.geom}) AS e, min({source.updated}) AS first_update, "
            f"max({source.updated}) AS last_update, count(*) AS size "
            f"FROM {source.table} {source.alias} WHERE {source.live} AND {layer.where}) x")
    return Statement(" UNION ALL ".join(selects), {})
