"""CSV as councils save it: UTF-8 with or without Excel's BOM, Windows-1252 from "Save as
CSV", UTF-16 from "Unicode text"; commas, semicolons, tabs, pipes or stars between values,
with stray spaces after them. A .zip of CSV files (OS Code-Point Open) is read member by
member."""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator

from importers.sources.base import ROW_PROBLEM, CountingReader, Source, SourceError

DELIMITERS = (",", ";", "\t", "*", "|")
NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "*": "star", "|": "pipe"}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with a byte order mark (Excel)",
                  "utf-16": "UTF-16 (Excel 'Unicode text')",
                  "cp1252": "Windows-1252 (Excel 'CSV')", "latin-1": "Latin-1"}
SAMPLE_CHARS = 65536
csv.field_size_limit(1 << 24)


def detect_encoding(chunks) -> str:
    """The encoding of a file given its bytes in chunks: BOMs first, then UTF-8 if every
    byte decodes as UTF-8, else Windows-1252 (what Excel writes on a UK PC)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    try:
        for chunk in chunks:
            if first:
                first = False
                if chunk.startswith(codecs.BOM_UTF8):
                    return "utf-8-sig"
                if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    return "utf-16"
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's lines into the same number of values
    (allowing one trailing empty value), preferring the one giving most columns."""
    lines = sample.splitlines()
    if len(sample) >= SAMPLE_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    lines = [line for line in lines if line.strip()][:50]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter, skipinitialspace=True))
        if not rows:
            continue
        width = len(_trim(rows[0]))
        if width < 2:
            continue
        fits = sum(1 for row in rows if len(_trim(row)) == width)
        score = (fits / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _trim(row: list[str]) -> list[str]:
    """A row without the empty value a trailing delimiter leaves."""
    return row[:-1] if row and not row[-1].strip() else row


class CsvSource(Source):
    format = "csv"

    def __init__(self, path, *, encoding=None, crs=None, header: bool = True):
        super().__init__(path, encoding=encoding, crs=crs)
        self.header = header
        self.delimiter = ","

    def open(self) -> CsvSource:
        members = self._members()
        if not members:
            raise SourceError(f"{self.path.name} holds no .csv file")
        first = members[0]
        if self.encoding is None:
            self.encoding = detect_encoding(self._chunks(first))
            if self.encoding == "cp1252" and self._undecodable(first):
                self.encoding = "latin-1"
        for member in members:
            if problem := self._undecodable(member):
                name = ENCODING_NAMES.get(self.encoding, self.encoding)
                raise SourceError(f"{self.path.name} is not {name}, as its start says or as "
                                  f"you said: {problem}; save it again as CSV UTF-8, or give "
                                  f"--encoding")
        with self._text(first) as handle:
            sample = handle.read(SAMPLE_CHARS)
        if not sample.strip():
            raise SourceError(f"{self.path.name} is empty")
        self.delimiter = sniff_delimiter(sample)
        first_row = next(csv.reader(
            [line for line in sample.splitlines() if line.strip()][:1],
            delimiter=self.delimiter, skipinitialspace=True))
        if self.header:
            self.columns = [cell.strip() for cell in _trim(first_row)]
        else:
            self.columns = [f"column{n}" for n in range(1, len(_trim(first_row)) + 1)]
        self.notes.append(f"read as {ENCODING_NAMES.get(self.encoding, self.encoding)}, "
                          f"{NAMES[self.delimiter]}-separated")
        if len(members) > 1:
            self.notes.append(f"read {len(members)} CSV files from {self.path.name}")
        return self

    def first_row(self) -> list[str]:
        """The first line's values (to tell a header from data)."""
        with self._text(self._members()[0]) as handle:
            for row in csv.reader(handle, delimiter=self.delimiter, skipinitialspace=True):
                if any(cell.strip() for cell in row):
                    return [cell.strip() for cell in row]
        return []

    def rows(self) -> Iterator[tuple[int, dict]]:
        try:
            yield from self._rows()
        except UnicodeDecodeError as error:
            raise SourceError(f"{self.path.name} has bytes that are not "
                              f"{ENCODING_NAMES.get(self.encoding, self.encoding)}: "
                              f"{error.reason}") from error

    def _rows(self) -> Iterator[tuple[int, dict]]:
        columns = self.columns
        width = len(columns)
        number = 0
        for member in self._members():
            with self._text(member, count=True) as handle:
                reader = csv.reader(handle, delimiter=self.delimiter, skipinitialspace=True)
                if self.header:
                    for row in reader:
                        if any(cell.strip() for cell in row):
                            break
                for row in reader:
                    if len(row) != width:
                        if not any(cell.strip() for cell in row):
                            continue
                        if len(row) > width:
                            extra = row[width:]
                            if any(cell.strip() for cell in extra):
                                number += 1
                                yield number, {ROW_PROBLEM: (
                                    f"has {len(_trim(row))} values but the header has {width} "
                                    f"columns: does a value contain the delimiter "
                                    f"{self.delimiter!r}? Put such values in double quotes")}
                                continue
                            row = row[:width]
                        else:
                            row = row + [""] * (width - len(row))
                    number += 1
                    yield number, dict(zip(columns, row))

    def _members(self) -> list[str | None]:
        if zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as archive:
                return sorted(name for name in archive.namelist()
                              if name.lower().endswith(".csv") and "/doc/" not in name.lower()
                              and not name.lower().startswith("doc/"))
        return [None]

    def _binary(self, member):
        if member is None:
            return open(self.path, "rb")
        archive = zipfile.ZipFile(self.path)
        return archive.open(member)

    def _undecodable(self, member) -> str | None:
        """Why the member's bytes do not decode in self.encoding, or None if they do."""
        decoder = codecs.getincrementaldecoder(self.encoding)()
        offset = 0
        try:
            for chunk in self._chunks(member):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            bad = error.object[error.start:error.end]
            return f"at about byte {offset + error.start:,}, {bad!r}: {error.reason}"
        except LookupError:
            raise SourceError(f"unknown encoding {self.encoding!r}") from None
        return None

    def _chunks(self, member):
        with self._binary(member) as handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    def _text(self, member, count: bool = False):
        raw = self._binary(member)
        if count and member is None:
            raw = io.BufferedReader(CountingReader(raw, self), buffer_size=1 << 20)
        return io.TextIOWrapper(raw, encoding=self.encoding, newline="")
