"""File readers, one small module per kind of file, all on `base.Source`.

`open_source(path, format)` picks the reader from `--format` or the file itself.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from importers.sources import safety
from importers.sources.base import GEOMETRY, ROW_PROBLEM, Source, SourceError
from importers.sources.csv_ import CsvSource
from importers.sources.json_ import JsonSource
from importers.sources.ogr import OgrSource

FORMATS = {"csv": CsvSource, "json": JsonSource, "geojson": OgrSource, "shp": OgrSource,
           "gpkg": OgrSource}
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".json": "json",
              ".geojson": "geojson", ".shp": "shp", ".gpkg": "gpkg"}

__all__ = ["FORMATS", "GEOMETRY", "ROW_PROBLEM", "Source", "SourceError", "detect_format",
           "open_source"]


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [name.lower() for name in archive.namelist()]
        if any(name.endswith(".shp") for name in names):
            return "shp"
        if any(name.endswith(".gpkg") for name in names):
            return "gpkg"
        if any(name.endswith(".csv") for name in names):
            return "csv"
        raise SourceError(f"{path.name} holds no shapefile, GeoPackage or CSV")
    if suffix == ".json":
        with open(path, "rb") as handle:
            head = handle.read(4096)
        if b'"FeatureCollection"' in head or b'"Feature"' in head:
            return "geojson"
        return "json"
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise SourceError(f"cannot tell the format of {path.name}: add --format "
                      f"({'|'.join(FORMATS)})")


def open_source(path, fmt: str | None = None, *, encoding: str | None = None,
                crs: int | None = None, archive: dict | None = None, **options) -> Source:
    """An opened reader for `path`; raises SourceError with a reason if it cannot be.
    `archive` relaxes the zip checks (see `safety.check_archive`)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"there is no file {path}")
    if path.suffix.lower() == ".zip":
        safety.check_archive(path, **(archive or {}))  # before anything reads a member
    fmt = (fmt or detect_format(path)).lower()
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if FORMATS[fmt] is OgrSource:
        safety.check_gdal_file(path, fmt)
    source = FORMATS[fmt](path, encoding=encoding, crs=crs, **options)
    source.format = fmt
    return source.open()
