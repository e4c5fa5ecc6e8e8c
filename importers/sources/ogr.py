"""GIS files through GDAL (pyogrio): GeoJSON (CRS84, or a named crs such as EPSG:27700),
Shapefile (.shp with its sidecar files, or all of them in a .zip) and GeoPackage.
Features are read in batches, with their geometry as WKB."""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator

import numpy as np
import pyogrio
import pyogrio.raw

from importers.sources import safety
from importers.sources.base import GEOMETRY, Source, SourceError

BATCH = 50_000


def epsg_of(crs: str | None) -> int | None:
    """The EPSG code GDAL reports for a layer, or a guess from WKT for the two CRSs
    councils use; None when it cannot tell."""
    if not crs:
        return None
    if crs.upper() in ("OGC:CRS84", "CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84"):
        return 4326
    if match := re.match(r"^EPSG:(\d+)$", crs.strip(), re.IGNORECASE):
        return int(match.group(1))
    if match := re.search(r'AUTHORITY\["EPSG","(\d+)"\]\]\s*$', crs):
        return int(match.group(1))
    if re.search(r"British.National.Grid|OSGB.1936|OSGB36", crs, re.IGNORECASE):
        return 27700
    if re.search(r"GEOGCS\[\"(GCS_)?WGS.?(19)?84", crs, re.IGNORECASE) and "PROJCS" not in crs:
        return 4326
    return None


def _plain(value):
    """numpy and GDAL values as plain Python: NaN as None, dates as ISO text."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        if isinstance(value, np.datetime64):
            return None if np.isnat(value) else str(value.astype("datetime64[D]"))
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class OgrSource(Source):
    format = "ogr"

    def open(self) -> OgrSource:
        try:
            layers = pyogrio.list_layers(self.path)
        except Exception as error:
            raise SourceError(f"GDAL cannot open {self.path.name}: {error}") from error
        if len(layers) == 0:
            raise SourceError(f"{self.path.name} holds no layers")
        self.layer = str(layers[0][0])
        if len(layers) > 1:
            self.notes.append(f"read layer {self.layer!r}; the file also has "
                              + ", ".join(repr(str(name)) for name, _ in layers[1:]))
        info = pyogrio.read_info(self.path, layer=self.layer)
        self.driver = info["driver"]
        safety.check_driver(self.path, self.driver)
        self.truncated_names = self.driver == "ESRI Shapefile"
        self.columns = [str(name) for name in info["fields"]]
        self.size = int(info["features"]) if info["features"] >= 0 else 0
        if info["geometry_type"] is None:
            raise SourceError(f"{self.path.name}: layer {self.layer!r} has no geometry")
        self.srid = self.crs or epsg_of(info["crs"])
        if self.srid is None:
            raise SourceError(f"{self.path.name}: cannot tell its coordinate system "
                              f"({info['crs'] or 'none given'}); add --crs, e.g. --crs EPSG:27700")
        self.notes.append(f"read with GDAL's {self.driver} driver, EPSG:{self.srid}")
        return self

    def rows(self) -> Iterator[tuple[int, dict]]:
        number = 0
        while True:
            _, _, geometries, fields = pyogrio.raw.read(
                self.path, layer=self.layer, skip_features=number, max_features=BATCH)
            if len(geometries) == 0:
                return
            columns = [list(values) for values in fields]
            for index, geometry in enumerate(geometries):
                number += 1
                self.bytes_read = number
                row = {name: _plain(columns[c][index]) for c, name in enumerate(self.columns)}
                row[GEOMETRY] = geometry
                yield number, row
            if len(geometries) < BATCH:
                return
