"""Request parameters turned into a checked `Query`: every feed (OGC API items, downloads,
tiles, nearest) reads its filters through here, so a bad value is refused the same way
everywhere — 400 naming the parameter and saying why — before any SQL is built."""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from layers.crs import CRS84, Crs, parse_crs
from layers.errors import QueryError
from layers.registry import PLACE_KINDS, Layer

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
# Far beyond any layer, well inside PostgreSQL's bigint.
MAX_OFFSET = 10**12
MAX_TEXT = 200
# What "blank" means for every text parameter, here and in the OpenAPI document's pattern
# (mapping/openapi.py): the white space and line terminators of ECMA-262, whose regular
# expressions JSON Schema patterns are. Python's str.strip() is not the same set: it also
# strips U+001C to U+001F and U+0085, and keeps U+FEFF.
WHITESPACE_RANGES = ((0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680),
                     (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
                     (0x3000, 0x3000), (0xFEFF, 0xFEFF))
WHITESPACE = "".join(chr(c) for first, last in WHITESPACE_RANGES for c in range(first, last + 1))
# The same set inside a regex character class, spelled out (\s is read three ways by
# ECMA-262, Python and Rust), for the document's patterns.
WHITESPACE_CLASS = "".join(f"\\u{first:04x}" + (f"-\\u{last:04x}" if last > first else "")
                           for first, last in WHITESPACE_RANGES)
# WGS 84's authalic radius: a longitude/latitude box's area on this sphere is within half
# a per cent of its area on the ellipsoid.
EARTH_RADIUS_KM = 6371.0072
# Where Web Mercator maps end. A box round every longitude from beyond here to beyond the
# other edge is the whole world: what QGIS asks for when its view is zoomed right out.
WEB_MAP_EDGE_LAT = 85.0511


@dataclass(frozen=True)
class Bbox:
    # One box, or two when a CRS84 box crosses the antimeridian; x = longitude/easting.
    boxes: tuple[tuple[float, float, float, float], ...]
    crs: Crs


@dataclass(frozen=True)
class Query:
    bbox: Bbox | None = None
    crs: Crs = CRS84
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    # An interval on the layer's update time; None at either end means open.
    datetime: tuple[dt.datetime | None, dt.datetime | None] | None = None
    ward: str | None = None
    neighbourhood: str | None = None
    categories: tuple[str, ...] = ()
    q: str | None = None
    # Name contains this (the finder's search box); `q` also searches descriptions.
    name: str | None = None
    updated_since: dt.datetime | None = None
    kinds: tuple[str, ...] = ()
    # Places with a service that is open then: (day MO..SU, a time or None, the date when
    # it is a real moment, for monthly sessions), for all ages `age`, in `language`.
    open_on: tuple[str, dt.time | None, dt.date | None] | None = None
    age: int | None = None
    language: str | None = None
    # Nearest only: also every place with a service whose area covers the origin.
    covering: bool = False
    # Only these properties, when given (a map needs a name and a kind, not the record).
    properties: tuple[str, ...] | None = None
    # A CQL2 filter (layers.filters), OGC API - Features Part 3.
    filter: object | None = None
    # True when the asked-for limit was over the maximum and was lowered to it.
    clamped: bool = field(default=False, compare=False)


def single(args, name: str) -> str | None:
    """The one value of a parameter; given twice it is ambiguous."""
    values = args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise QueryError(f"{name} is given {len(values)} times; give it once", parameter=name)
    return values[0]


def check_known(args, allowed) -> None:
    """Refuse a parameter this resource does not define (OGC /req/core/query-param-unknown)."""
    unknown = sorted(set(args.keys()) - set(allowed))
    if unknown:
        raise QueryError(f"unknown query parameter {unknown[0]!r}; this resource takes "
                         + ", ".join(sorted(allowed)), parameter=unknown[0])


def _number(text: str, parameter: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise QueryError(f"{parameter} value {text!r} is not a number",
                         parameter=parameter) from None
    if not math.isfinite(value):
        raise QueryError(f"{parameter} value {text!r} is not a finite number",
                         parameter=parameter)
    return value


def bbox_area_km2(bbox: Bbox) -> float:
    """The ground a bbox covers: on the sphere for degrees, on the grid for BNG metres
    (whose scale is within 0.04 % of true anywhere in Great Britain)."""
    if bbox.crs.metric:
        return sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in bbox.boxes) / 1e6
    return sum(EARTH_RADIUS_KM ** 2 * math.radians(x1 - x0)
               * (math.sin(math.radians(y1)) - math.sin(math.radians(y0)))
               for x0, y0, x1, y1 in bbox.boxes)


def is_whole_world(bbox: Bbox) -> bool:
    if bbox.crs.metric or len(bbox.boxes) != 1:
        return False
    x0, y0, x1, y1 = bbox.boxes[0]
    return x0 <= -180 and x1 >= 180 and y0 <= -WEB_MAP_EDGE_LAT and y1 >= WEB_MAP_EDGE_LAT


def check_bbox_area(bbox: Bbox, max_area_km2: float, *, paged: bool = True) -> Bbox:
    """Refuse a bbox covering more than `max_area_km2` (MAX_BBOX_AREA_KM2). The whole world
    is let through: real clients send it for "no limit", and it selects what no bbox does."""
    area = bbox_area_km2(bbox)
    if area <= max_area_km2 or is_whole_world(bbox):
        return bbox
    whole = ("read the whole layer a page at a time (limit, offset)" if paged
             else "download the whole layer")
    raise QueryError(f"bbox covers {_km2(area)} km², more than the {_km2(max_area_km2)} km² "
                     f"a bbox may cover (MAX_BBOX_AREA_KM2): ask for a smaller box, or "
                     f"leave bbox out to {whole}", parameter="bbox")


def _km2(area: float) -> str:
    return f"{area:,.0f}" if area >= 100 else f"{area:.3g}"


def parse_bbox(raw: str, crs: Crs) -> Bbox:
    parts = [p for p in raw.split(",")]
    if len(parts) not in (4, 6):
        raise QueryError(f"bbox needs 4 numbers (or 6 with heights), got {len(parts)}",
                         parameter="bbox")
    numbers = [_number(p.strip(), "bbox") for p in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if crs.lat_first:
        miny, minx, maxy, maxx = numbers
    else:
        minx, miny, maxx, maxy = numbers
    x0, y0, x1, y1 = crs.extent
    axis = ("latitude", "longitude") if crs.srid == 4326 else ("northing", "easting")
    for value in (miny, maxy):
        if not y0 <= value <= y1:
            raise QueryError(f"bbox {axis[0]} {value:g} is outside {y0:g} to {y1:g}",
                             parameter="bbox")
    for value in (minx, maxx):
        if not x0 <= value <= x1:
            raise QueryError(f"bbox {axis[1]} {value:g} is outside {x0:g} to {x1:g}",
                             parameter="bbox")
    if miny > maxy:
        raise QueryError(f"bbox minimum {axis[0]} is greater than the maximum",
                         parameter="bbox")
    if minx > maxx:
        if crs.srid != 4326:
            raise QueryError("bbox minimum easting is greater than the maximum",
                             parameter="bbox")
        # Longitude west > east: the box crosses the antimeridian.
        return Bbox(((minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)), crs)
    return Bbox(((minx, miny, maxx, maxy),), crs)


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT,
                maximum: int = MAX_LIMIT, parameter: str = "limit") -> tuple[int, bool]:
    """The limit and whether it was clamped: over the maximum is lowered, not refused."""
    if raw is None:
        return default, False
    try:
        value = int(raw.strip())
    except ValueError:
        raise QueryError(f"{parameter} {raw!r} is not a whole number", parameter=parameter) from None
    if value < 1:
        raise QueryError(f"{parameter} must be at least 1, got {value}", parameter=parameter)
    if value > maximum:
        return maximum, True
    return value, False


def parse_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        value = int(raw.strip())
    except ValueError:
        raise QueryError(f"offset {raw!r} is not a whole number", parameter="offset") from None
    if not 0 <= value <= MAX_OFFSET:
        raise QueryError(f"offset must be from 0 to {MAX_OFFSET}", parameter="offset")
    return value


def parse_instant(text: str, parameter: str, *, end: bool = False) -> dt.datetime:
    """An RFC 3339 date-time, or a date (its first moment, or with end=True its last). A
    time without an offset is read as UTC."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            value = dt.datetime.combine(day, dt.time(), dt.UTC)
            # An interval's end date includes that whole day.
            return value + dt.timedelta(days=1, microseconds=-1) if end else value
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise QueryError(f"{parameter} {text!r} is not an RFC 3339 date-time "
                         "such as 2024-05-01T12:00:00Z or a date such as 2024-05-01",
                         parameter=parameter) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        # As UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts.
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise QueryError(f"{parameter} {text!r} is out of range", parameter=parameter) from None


def parse_datetime(raw: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An instant or an interval `start/end` with `..` or nothing for an open end."""
    raw = raw.strip()
    if "/" not in raw:
        if raw in ("", ".."):
            raise QueryError("datetime is empty", parameter="datetime")
        start = parse_instant(raw, "datetime")
        if len(raw) == 10:
            return start, parse_instant(raw, "datetime", end=True)
        return start, start
    if raw.count("/") > 1:
        raise QueryError("datetime interval has more than one '/'", parameter="datetime")
    left, right = (part.strip() for part in raw.split("/"))
    if left in ("", "..") and right in ("", ".."):
        raise QueryError("datetime interval is open at both ends; give at least one",
                         parameter="datetime")
    start = None if left in ("", "..") else parse_instant(left, "datetime")
    end = None if right in ("", "..") else parse_instant(right, "datetime", end=True)
    if start and end and start > end:
        raise QueryError("datetime interval starts after it ends", parameter="datetime")
    return start, end


def _text(raw: str, parameter: str) -> str:
    """The value without surrounding white space; refused when blank or too long (as
    given, which is what the OpenAPI document's maxLength measures)."""
    value = raw.strip(WHITESPACE)
    if not value:
        raise QueryError(f"{parameter} is empty", parameter=parameter)
    if len(raw) > MAX_TEXT:
        raise QueryError(f"{parameter} is longer than {MAX_TEXT} characters",
                         parameter=parameter)
    return value


def _list(raw: str, parameter: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(_text(part, parameter) for part in raw.split(",")))
    return items


def parse_kinds(raw: str) -> tuple[str, ...]:
    kinds = _list(raw, "kind")
    for kind in kinds:
        if kind not in PLACE_KINDS:
            raise QueryError(f"kind {kind!r} is not one of " + ", ".join(PLACE_KINDS),
                             parameter="kind")
    return kinds


def parse_properties(raw: str, layer: Layer) -> tuple[str, ...]:
    names = _list(raw, "properties")
    for name in names:
        if layer.field(name) is None:
            raise QueryError(f"{layer.id} has no property {name!r}", parameter="properties")
    return names


# What each filter parameter is called and how it is read.
FILTER_PARAMETERS = ("ward", "neighbourhood", "category", "q", "updated_since", "kind",
                     "open", "age", "language")
SERVICE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The OpenAPI document states these patterns as they are here.
OPEN_PATTERN = r"^(now|(MO|TU|WE|TH|FR|SA|SU)( ([01][0-9]|2[0-3]):[0-5][0-9])?)$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
MAX_AGE = 130
LOCAL_TIME = "Europe/London"


def parse_open(raw: str, now: dt.datetime | None = None) -> tuple:
    """`now` (in Kirklees), a day (MO..SU), or a day and a time ("TU 10:30")."""
    if not re.fullmatch(OPEN_PATTERN, raw):
        raise QueryError(f"open {raw!r} is not 'now', a day (MO, TU, WE, TH, FR, SA, SU) "
                         "or a day and a time such as 'TU 10:30'", parameter="open")
    if raw == "now":
        local = now or dt.datetime.now(ZoneInfo(LOCAL_TIME))
        return (SERVICE_DAYS[local.weekday()], local.time().replace(second=0, microsecond=0),
                local.date())
    day, _, clock = raw.partition(" ")
    return day, dt.time.fromisoformat(clock) if clock else None, None


def parse_age(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,3}", raw.strip()) or int(raw) > MAX_AGE:
        raise QueryError(f"age {raw!r} is not an age in whole years from 0 to {MAX_AGE}",
                         parameter="age")
    return int(raw)


def parse_language(raw: str) -> str:
    if not re.fullmatch(LANGUAGE_PATTERN, raw):
        raise QueryError(f"language {raw!r} is not a language code such as en, ur or pa "
                         "(ISO 639)", parameter="language")
    return raw


def parse_query(layer: Layer, args, *, filters: bool = True, paging: bool = True,
                spatial: bool = True, cql: bool = False, default_limit: int = DEFAULT_LIMIT,
                max_limit: int = MAX_LIMIT, max_bbox_area_km2: float | None = None) -> Query:
    """Read `crs` and `properties`, and when asked for the filters `layer` takes, bbox and
    datetime, and paging, from `args`; with `cql` also a CQL2 `filter` (filter-lang,
    filter-crs). Unknown parameters are the caller's to refuse (check_known). A bbox covering more than `max_bbox_area_km2` is refused (the routes
    pass MAX_BBOX_AREA_KM2; None: no limit)."""
    values: dict = {"crs": parse_crs(single(args, "crs"), "crs")}
    for name in FILTER_PARAMETERS if filters else ():
        raw = single(args, name)
        if raw is None:
            continue
        if name not in layer.filters:
            raise QueryError(f"{layer.id} cannot be filtered by {name}; it takes "
                             + ", ".join(layer.filters), parameter=name)
        if name in ("ward", "neighbourhood", "q"):
            values[name] = _text(raw, name)
        elif name == "category":
            values["categories"] = _list(raw, name)
        elif name == "updated_since":
            values["updated_since"] = parse_instant(raw, name)
        elif name == "kind":
            values["kinds"] = parse_kinds(raw)
        elif name == "open":
            values["open_on"] = parse_open(raw)
        elif name == "age":
            values["age"] = parse_age(raw)
        elif name == "language":
            values["language"] = parse_language(raw)
    raw = single(args, "properties")
    if raw is not None:
        values["properties"] = parse_properties(raw, layer)
    if spatial:
        bbox_crs = parse_crs(single(args, "bbox-crs"), "bbox-crs")
        raw = single(args, "bbox")
        if raw is not None:
            values["bbox"] = parse_bbox(raw, bbox_crs)
            if max_bbox_area_km2 is not None:
                check_bbox_area(values["bbox"], max_bbox_area_km2, paged=paging)
        raw = single(args, "datetime")
        if raw is not None:
            values["datetime"] = parse_datetime(raw)
    if cql:
        from layers.filters import check_lang, parse_filter

        # filter-lang and filter-crs are checked even without a filter (they then say
        # nothing), as the API definition has them: optional, each on its own.
        lang = check_lang(single(args, "filter-lang"))
        filter_crs = parse_crs(single(args, "filter-crs"), "filter-crs")
        raw = single(args, "filter")
        if raw is not None:
            values["filter"] = parse_filter(raw, lang, filter_crs)
    if paging:
        limit, clamped = parse_limit(single(args, "limit"), default_limit, max_limit)
        values.update(limit=limit, clamped=clamped, offset=parse_offset(single(args, "offset")))
    return Query(**values)
