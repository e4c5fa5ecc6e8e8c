"""The base every file reader shares: yield each row as a plain dict with its number."""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

# Keys a reader may add to a row besides the file's own columns.
GEOMETRY = "__geometry__"      # the feature's own geometry, as WKB bytes
ROW_PROBLEM = "__problem__"    # why the reader could not split this row properly


class SourceError(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""


class Source:
    """One file's rows. Subclasses set `format` and implement `open()` and `rows()`.

    After `open()`: `columns` lists the column names in file order, `srid` is the EPSG
    code of the file's own geometry (None when it has none), and `notes` says anything
    an officer should know about how the file was read.
    """

    format = ""
    # Shapefiles cut column names to ten characters; matching allows for it.
    truncated_names = False

    def __init__(self, path: Path, *, encoding: str | None = None, crs: int | None = None):
        self.path = Path(path)
        self.encoding = encoding
        self.crs = crs
        self.columns: list[str] = []
        self.srid: int | None = None
        self.notes: list[str] = []
        self.size = self.path.stat().st_size if self.path.is_file() else 0
        self.bytes_read = 0

    @property
    def has_geometry(self) -> bool:
        return self.srid is not None

    def open(self) -> Source:
        raise NotImplementedError

    def rows(self) -> Iterator[tuple[int, dict]]:
        """(row number, {column: value}) for every row; 1 is the first data row."""
        raise NotImplementedError

    def progress(self) -> int:
        """How far reading has got, in the same unit as `size`."""
        return self.bytes_read


class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it (for the progress bar)."""

    def __init__(self, raw, source: Source):
        self.raw = raw
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.raw.readinto(buffer)
        self.source.bytes_read += count or 0
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()
