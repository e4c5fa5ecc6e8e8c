"""The coordinate reference systems the feeds speak, with their axis order and extent.

CRS84 is longitude, latitude; EPSG:4326 is the same datum with the authority's axis order,
latitude first (OGC API – Features Part 2 requires honouring it); EPSG:27700 is the
British National Grid, easting, northing, in metres.
"""
from __future__ import annotations

from dataclasses import dataclass

from layers.errors import QueryError


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    # True when the authority's first axis is latitude (northing): coordinates are swapped
    # on the way out and a bbox's numbers are read y first.
    lat_first: bool
    # (min x, min y, max x, max y) in x = longitude/easting order; values outside are refused.
    extent: tuple[float, float, float, float]
    decimals: int
    aliases: tuple[str, ...] = ()

    @property
    def metric(self) -> bool:
        return self.srid == 27700


CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, (-180, -90, 180, 90), 6,
            ("CRS84", "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84",
             "https://www.opengis.net/def/crs/OGC/1.3/CRS84"))
EPSG_4326 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, (-180, -90, 180, 90), 6,
                ("EPSG:4326", "urn:ogc:def:crs:EPSG::4326",
                 "https://www.opengis.net/def/crs/EPSG/0/4326"))
# The grid's area of use with a margin; a bbox further out is a mistake, not a query.
EPSG_27700 = Crs("http://www.opengis.net/def/crs/EPSG/0/27700", 27700, False,
                 (-200000, -100000, 800000, 1400000), 2,
                 ("EPSG:27700", "urn:ogc:def:crs:EPSG::27700",
                  "https://www.opengis.net/def/crs/EPSG/0/27700"))

SUPPORTED = (CRS84, EPSG_4326, EPSG_27700)
STORAGE = CRS84
_BY_NAME = {name: crs for crs in SUPPORTED for name in (crs.uri, *crs.aliases)}


def parse_crs(value: str | None, parameter: str) -> Crs:
    """The CRS named by a `crs` or `bbox-crs` value (a URI or a short name); CRS84 if absent."""
    if value is None:
        return CRS84
    crs = _BY_NAME.get(value.strip().strip("[]<>"))
    if crs is None:
        raise QueryError(f"{parameter} {value!r} is not supported; use one of "
                         + ", ".join(c.uri for c in SUPPORTED), parameter=parameter)
    return crs


def legacy_crs_member(crs: Crs) -> dict:
    """What names `crs` inside a GeoJSON document: nothing for CRS84 (RFC 7946 has no `crs`
    member), otherwise the GeoJSON 2008 `crs` member with the EPSG code, which GDAL and
    QGIS read, so a saved file opens in the right place."""
    if crs == CRS84:
        return {}
    return {"crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.srid}"}}}
