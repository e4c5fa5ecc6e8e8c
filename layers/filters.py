"""CQL2 filters (OGC API - Features Part 3) turned into bound SQL.

The text or JSON a client sends is read by cql2-rs, the reference CQL2 parser (the `cql2`
package), which gives the expression as CQL2 JSON whichever encoding came in. Here that
JSON is walked once: every property must be one of the layer's queryables, every
literal becomes a bound parameter, and every operator is one of those below, written as
a fixed piece of SQL. Nothing from the request is ever spliced into the statement. A
filter that does not parse, names an unknown property, compares a property with a value
of another type or uses an operator this server does not offer is a QueryError naming
`filter` and saying why (a 400).

Offered: and, or, not; =, <>, <, <=, >, >=; like; in; between; isNull; s_intersects
(any geometry or a bbox); s_dwithin (the server's own function: within a distance in
metres, measured on the British National Grid); t_after, t_before, t_intersects on a
date-time property (an instant or an interval); a_equals, a_contains, a_containedBy,
a_overlaps on an array property.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

import cql2

from layers.crs import Crs
from layers.errors import QueryError
from layers.kinds import Field

MAX_FILTER = 4000   # characters
MAX_NODES = 200     # operators and values in one filter
MAX_DISTANCE_M = 50_000
LANGS = ("cql2-text", "cql2-json")
# Part 3's draft name for CQL2 text, which GDAL's OAPIF driver still looks for in the API
# definition and sends: read as cql2-text, so GIS clients built on GDAL filter on the server.
DRAFT_TEXT = "cql-text"
COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
ARRAYS = {"a_equals": "=", "a_contains": "@>", "a_containedby": "<@", "a_overlaps": "&&"}
SQL_TYPES = {"string": "text", "integer": "bigint", "number": "float8", "boolean": "boolean",
             "date": "date", "date-time": "timestamptz", "string[]": "text"}
# The conformance classes this module meets (mapping/api/ogc.py declares them).
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
]


@dataclass(frozen=True)
class Filter:
    """A parsed filter: its CQL2 JSON and the CRS its geometries are in."""
    expression: dict | bool
    crs: Crs


def check_lang(lang: str | None) -> str:
    """The filter's encoding: cql2-text (also for the draft's cql-text) or cql2-json."""
    lang = lang or "cql2-text"
    if lang == DRAFT_TEXT:
        return "cql2-text"
    if lang not in LANGS:
        raise QueryError(f"filter-lang {lang!r} is not one of {', '.join(LANGS)}",
                         parameter="filter-lang")
    return lang


def parse_filter(raw: str, lang: str | None, crs: Crs) -> Filter:
    lang = check_lang(lang)
    if len(raw) > MAX_FILTER:
        raise QueryError(f"filter is longer than {MAX_FILTER:,} characters", parameter="filter")
    if not raw.strip():
        raise QueryError("filter is empty", parameter="filter")
    try:
        source = json.loads(raw) if lang == "cql2-json" else raw
    except ValueError as error:
        raise QueryError(f"filter is not JSON ({error}); with filter-lang=cql2-json the "
                         f"filter is CQL2 JSON", parameter="filter") from None
    try:
        expression = cql2.Expr(source).to_json()
    except Exception as error:  # noqa: BLE001 (cql2-rs raises a plain Exception, the parser's message)
        reason = " ".join(str(error).split())
        raise QueryError(f"filter is not valid {lang}: {reason}", parameter="filter") from None
    return Filter(expression, crs)


class FilterSQL:
    """One filter written as SQL over a layer's fields; `bind` makes the parameters."""

    def __init__(self, fields: dict[str, Field], geom: str, geom_bng: str, bind):
        self.fields, self.geom, self.geom_bng, self.bind = fields, geom, geom_bng, bind
        self.nodes = 0

    def sql(self, flt: Filter) -> str:
        self.crs = flt.crs
        return self.predicate(flt.expression)

    # -- predicates ---------------------------------------------------------------------

    def predicate(self, node) -> str:
        self._count()
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if not isinstance(node, dict) or "op" not in node:
            raise QueryError(f"filter: {_show(node)} is a value, not a condition",
                             parameter="filter")
        op, args = str(node["op"]).lower(), node.get("args") or []
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.predicate(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.predicate(self._args(op, args, 1)[0])})"
        if op in COMPARISONS:
            left, right = self._args(op, args, 2)
            return self._compare(op, left, right)
        if op == "like":
            field, pattern = self._args(op, args, 2)
            column = self._property(field, "like", ("string",))
            if not isinstance(pattern, str):
                raise QueryError("filter: LIKE needs a text pattern", parameter="filter")
            return f"({column} LIKE {self.bind(pattern)})"
        if op == "in":
            field, values = self._args(op, args, 2)
            f = self._field(field)
            if not isinstance(values, list) or not values:
                raise QueryError("filter: IN needs a list of values", parameter="filter")
            bound = [self._value(v, f) for v in values]
            return (f"({f.sql} = ANY(CAST({self.bind(bound)} AS {SQL_TYPES[f.type]}[])))")
        if op == "between":
            field, low, high = self._args(op, args, 3)
            f = self._field(field)
            if f.type not in ("integer", "number", "date", "date-time"):
                raise QueryError(f"filter: BETWEEN needs a number or a date; {f.name} is a "
                                 f"{_type_name(f.type)}", parameter="filter")
            return (f"({f.sql} BETWEEN {self._bound(low, f)} AND {self._bound(high, f)})")
        if op == "isnull":
            (field,) = self._args(op, args, 1)
            return f"({self._field(field).sql} IS NULL)"
        if op == "s_intersects":
            field, shape = self._args(op, args, 2)
            self._geometry_property(field)
            column, geometry = self._geometry(shape)
            return f"ST_Intersects({column}, {geometry})"
        if op == "s_dwithin":
            field, shape, distance = self._args(op, args, 3)
            self._geometry_property(field)
            if (not isinstance(distance, int | float) or isinstance(distance, bool)
                    or not 0 <= distance <= MAX_DISTANCE_M):
                raise QueryError(f"filter: S_DWITHIN's distance is metres from 0 to "
                                 f"{MAX_DISTANCE_M:,}", parameter="filter")
            _, geometry = self._geometry(shape)
            return (f"ST_DWithin({self.geom_bng}, ST_Transform({geometry}, 27700), "
                    f"{self.bind(float(distance))})")
        if op in ("t_after", "t_before", "t_intersects"):
            field, when = self._args(op, args, 2)
            column = self._property(field, op.upper(), ("date", "date-time"))
            start, end = self._interval(when)
            if op == "t_after":
                return f"({column} > {self.bind(end)})"
            if op == "t_before":
                return f"({column} < {self.bind(start)})"
            parts = ([f"{column} >= {self.bind(start)}"] if start else []) + (
                [f"{column} <= {self.bind(end)}"] if end else [])
            return "(" + " AND ".join(parts or ["TRUE"]) + ")"
        if op in ARRAYS:
            field, values = self._args(op, args, 2)
            column = self._property(field, op.upper(), ("string[]",))
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise QueryError(f"filter: {op.upper()} needs a list of text values",
                                 parameter="filter")
            return f"({column} {ARRAYS[op]} CAST({self.bind(values)} AS text[]))"
        raise QueryError(f"filter: the operator {node['op']!r} is not offered here; see "
                         f"/ogc/conformance and docs/api.md", parameter="filter")

    # -- pieces -------------------------------------------------------------------------

    def _count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise QueryError(f"filter has more than {MAX_NODES} terms", parameter="filter")

    def _args(self, op: str, args, count: int) -> list:
        if not isinstance(args, list) or len(args) != count:
            raise QueryError(f"filter: {op.upper()} takes {count} argument"
                             f"{'s' if count > 1 else ''}", parameter="filter")
        return args

    def _field(self, node) -> Field:
        self._count()
        if not isinstance(node, dict) or "property" not in node:
            raise QueryError(f"filter: expected a property, got {_show(node)}",
                             parameter="filter")
        name = node["property"]
        f = self.fields.get(name)
        if f is None:
            raise QueryError(f"filter: {name!r} is not a queryable of this collection (its "
                             f"queryables: {', '.join(sorted(self.fields))}, geometry)",
                             parameter="filter")
        return f

    def _property(self, node, what: str, types: tuple[str, ...]) -> str:
        f = self._field(node)
        if f.type not in types:
            raise QueryError(f"filter: {what} needs a {' or '.join(map(_type_name, types))} "
                             f"property; {f.name} is a {_type_name(f.type)}",
                             parameter="filter")
        return f.sql

    def _compare(self, op: str, left, right) -> str:
        if isinstance(right, dict) and "property" in right and not (
                isinstance(left, dict) and "property" in left):
            left, right = right, left
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        f = self._field(left)
        if f.type == "string[]":
            raise QueryError(f"filter: {f.name} is a list; compare it with A_CONTAINS, "
                             f"A_OVERLAPS, A_EQUALS or A_CONTAINEDBY", parameter="filter")
        if isinstance(right, dict) and "property" in right:
            other = self._field(right)
            if _family(other.type) != _family(f.type):
                raise QueryError(f"filter: {f.name} ({_type_name(f.type)}) cannot be "
                                 f"compared with {other.name} ({_type_name(other.type)})",
                                 parameter="filter")
            return f"({f.sql} {COMPARISONS[op]} {other.sql})"
        return f"({f.sql} {COMPARISONS[op]} {self._bound(right, f)})"

    def _bound(self, value, f: Field) -> str:
        return f"CAST({self.bind(self._value(value, f))} AS {SQL_TYPES[f.type]})"

    def _value(self, value, f: Field):
        """The literal as the field's type, or a QueryError saying what it is instead."""
        self._count()
        family = _family(f.type)
        if family == "time" and isinstance(value, dict) and (
                "timestamp" in value or "date" in value):
            return _instant(value.get("timestamp") or value.get("date"),
                            end=False, date_only="date" in value)
        if family == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise QueryError("filter: numbers must be finite", parameter="filter")
            if f.type == "integer":
                if not float(value).is_integer():
                    raise QueryError(f"filter: {f.name} is a whole number; {value:g} is not",
                                     parameter="filter")
                return int(value)
            return float(value)
        if family == "text" and isinstance(value, str):
            return value
        if family == "boolean" and isinstance(value, bool):
            return value
        raise QueryError(f"filter: {f.name} is a {_type_name(f.type)}; {_show(value)} is not",
                         parameter="filter")

    def _geometry_property(self, node) -> None:
        self._count()
        if not (isinstance(node, dict) and node.get("property") == "geometry"):
            raise QueryError("filter: spatial functions compare the property 'geometry' "
                             "with a geometry", parameter="filter")

    def _geometry(self, shape) -> tuple[str, str]:
        """The column to compare in the filter's CRS, and the literal as bound SQL."""
        self._count()
        srid = self.crs.srid
        column = self.geom_bng if self.crs.metric else self.geom
        if isinstance(shape, dict) and "bbox" in shape:
            box = shape["bbox"]
            if len(box) not in (4, 6) or not all(isinstance(v, int | float) for v in box):
                raise QueryError("filter: BBOX takes 4 numbers", parameter="filter")
            x0, y0, x1, y1 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
            if self.crs.lat_first:
                x0, y0, x1, y1 = y0, x0, y1, x1
            return column, (f"ST_MakeEnvelope({self.bind(float(x0))}, {self.bind(float(y0))}, "
                            f"{self.bind(float(x1))}, {self.bind(float(y1))}, {srid})")
        if not (isinstance(shape, dict) and "type" in shape and "coordinates" in shape
                or isinstance(shape, dict) and shape.get("type") == "GeometryCollection"):
            raise QueryError(f"filter: expected a geometry, got {_show(shape)}",
                             parameter="filter")
        geometry = f"ST_SetSRID(ST_GeomFromGeoJSON({self.bind(json.dumps(shape))}), {srid})"
        if self.crs.lat_first:
            geometry = f"ST_FlipCoordinates({geometry})"
        return column, geometry

    def _interval(self, when) -> tuple[dt.datetime | None, dt.datetime | None]:
        self._count()
        if isinstance(when, dict) and ("timestamp" in when or "date" in when):
            text = when.get("timestamp") or when.get("date")
            date_only = "date" in when
            return (_instant(text, end=False, date_only=date_only),
                    _instant(text, end=True, date_only=date_only))
        if isinstance(when, dict) and "interval" in when and len(when["interval"]) == 2:
            ends = []
            for index, part in enumerate(when["interval"]):
                if isinstance(part, dict):
                    part = part.get("timestamp") or part.get("date")
                ends.append(None if part in ("..", None) else
                            _instant(part, end=index == 1, date_only=len(str(part)) == 10))
            return ends[0], ends[1]
        raise QueryError(f"filter: expected a TIMESTAMP, DATE or INTERVAL, got {_show(when)}",
                         parameter="filter")


def _instant(text, *, end: bool, date_only: bool) -> dt.datetime:
    from layers.query import parse_instant

    try:
        return parse_instant(str(text)[:10] if date_only else str(text), "filter", end=end)
    except QueryError as error:
        raise QueryError(f"filter: {error.detail.removeprefix('filter ')}",
                         parameter="filter") from None


def _family(type_: str) -> str:
    return {"integer": "number", "number": "number", "date": "time", "date-time": "time",
            "boolean": "boolean"}.get(type_, "text")


def _type_name(type_: str) -> str:
    return {"string": "text", "integer": "whole number", "number": "number",
            "date": "date", "date-time": "date-time", "boolean": "true or false",
            "string[]": "list of text"}[type_]


def _show(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
