"""JSON exports: an array of objects, nested objects flattened to dotted names
("location_coord.lat"); or an API response whose `body` is a JSON string (or object)
holding that array; or an object with one array of records (`data`, `results`, ...)."""
from __future__ import annotations

import json
from collections.abc import Iterator

from importers.sources.base import ROW_PROBLEM, Source, SourceError

RECORD_KEYS = ("body", "data", "results", "items", "records", "groups", "rows")


def flatten(item: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in item.items():
        name = f"{prefix}{_text(key)}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = _text(value) if isinstance(value, str) else value
    return flat


def _text(value: str) -> str:
    """JSON can escape half a UTF-16 pair ("\\ud800"), which is no text at all: "?"."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


class JsonSource(Source):
    format = "json"

    def open(self) -> JsonSource:
        raw = self.path.read_bytes()
        self.bytes_read = 0
        try:
            document = json.loads(raw.decode(self.encoding or "utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as error:
            raise SourceError(f"{self.path.name} is not valid JSON: {error}") from error
        self.records = self._records(document)
        columns: dict[str, None] = {}
        for item in self.records:
            if isinstance(item, dict):
                columns.update(dict.fromkeys(flatten(item)))
        self.columns = list(columns)
        self.size = len(self.records)
        return self

    def _records(self, document, depth: int = 0) -> list:
        if isinstance(document, list):
            return document
        if isinstance(document, dict) and depth < 3:
            if document.get("type") == "FeatureCollection":
                raise SourceError(f"{self.path.name} is GeoJSON: use --format geojson")
            for key in RECORD_KEYS:
                value = document.get(key)
                if isinstance(value, str) and key == "body":
                    try:
                        inner = json.loads(value)
                    except ValueError as error:
                        raise SourceError(f"{self.path.name}: the response's body is not "
                                          f"JSON: {error}") from error
                    self.notes.append("unwrapped the API response's body")
                    return self._records(inner, depth + 1)
                if isinstance(value, (list, dict)):
                    return self._records(value, depth + 1)
        raise SourceError(f"{self.path.name}: expected an array of records (or an API response "
                          f"whose body holds one)")

    def rows(self) -> Iterator[tuple[int, dict]]:
        for number, item in enumerate(self.records, 1):
            self.bytes_read = number
            if not isinstance(item, dict):
                yield number, {ROW_PROBLEM: f"is {type(item).__name__}, not an object"}
            else:
                yield number, flatten(item)
