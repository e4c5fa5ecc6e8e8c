"""Checks a file must pass before any reader (or GDAL) opens it: uploads come from people
we do not control.

- A zip archive is inspected before anything is extracted: no absolute paths, no `..`,
  no links, no nested archives, a bounded number of members and total size, and no
  member that expands far beyond its compressed size (a zip bomb).
- A file for GDAL must look like what its extension says (GeoJSON text, a GeoPackage's
  SQLite header, a shapefile's header), so GDAL's automatic driver choice can never pick
  VRT or MRF, which read or write other files on the server; after opening, the driver
  GDAL chose is checked against the few this project reads.

And one check per row, once a geometry is read: no more vertices than IMPORT_MAX_VERTICES,
so one enormous shape cannot tie up the database repairing, cutting and serving it.
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

import shapely

from importers.sources.base import SourceError

MAX_MEMBERS = 50
MAX_TOTAL_BYTES = 1 << 30         # 1 GiB expanded
MAX_RATIO = 200                   # expanded size / compressed size
ARCHIVE_MEMBERS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml",
                   ".gpkg", ".csv", ".txt"}
GDAL_DRIVERS = {"GeoJSON", "ESRI Shapefile", "GPKG"}


def check_archive(path: Path, *, max_members: int = MAX_MEMBERS,
                  other_files: bool = False) -> list[zipfile.ZipInfo]:
    """The archive's members, or SourceError naming the first one that is refused.

    OS Code-Point Open comes as one zip of about 120 CSV files plus its documentation;
    the postcode loader reads only the CSV members, in memory, so it allows more members
    (`max_members`) and files of other kinds (`other_files`), which it never opens.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise SourceError(f"{path.name} is not a readable zip archive ({error})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > max_members:
        raise SourceError(f"{path.name} holds {len(members)} files; at most {max_members} are "
                          f"accepted")
    total = 0
    for member in members:
        name = member.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise SourceError(f"{path.name}: member {name!r} points outside the archive")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise SourceError(f"{path.name}: member {name!r} is a link, which is not accepted")
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in ARCHIVE_MEMBERS and not other_files:
            raise SourceError(f"{path.name}: member {name!r} is not part of a shapefile, "
                              f"GeoPackage or CSV")
        total += member.file_size
        if total > MAX_TOTAL_BYTES:
            raise SourceError(f"{path.name} expands to more than {MAX_TOTAL_BYTES >> 20} MB")
        if member.file_size > 1 << 20 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise SourceError(f"{path.name}: member {name!r} expands {member.file_size:,} bytes "
                              f"from {member.compress_size:,}; refused as a likely zip bomb")
    return members


def _head(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def check_gdal_file(path: Path, fmt: str) -> None:
    """Refuse a file whose content is not the format its name claims, before GDAL sees it."""
    text_path = str(path)
    if text_path.startswith("/vsi") or "://" in text_path:
        raise SourceError(f"{path.name}: GDAL virtual paths are not accepted")
    if path.suffix.lower() == ".zip":
        check_archive(path)
        return
    head = _head(path)
    if fmt == "geojson":
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
            raise SourceError(f"{path.name} does not start like GeoJSON")
    elif fmt == "gpkg":
        if not head.startswith(b"SQLite format 3\x00"):
            raise SourceError(f"{path.name} is not a GeoPackage (no SQLite header)")
    elif fmt == "shp" and head[:4] != b"\x00\x00\x27\x0a":
        raise SourceError(f"{path.name} is not a shapefile (its header is wrong)")


def check_driver(path: Path, driver: str) -> None:
    if driver not in GDAL_DRIVERS:
        raise SourceError(f"{path.name} was read as {driver}, which is not accepted "
                          f"(only {', '.join(sorted(GDAL_DRIVERS))})")


def too_many_vertices(shape, limit: int) -> str | None:
    """Why `shape` is refused for its size, or None when it is within `limit` vertices."""
    count = int(shapely.get_num_coordinates(shape))
    if count <= limit:
        return None
    return (f"the geometry has {count:,} vertices, more than the {limit:,} allowed "
            f"(IMPORT_MAX_VERTICES)")
