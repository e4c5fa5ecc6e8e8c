"""Fields an importer fills, and how a file's column names are matched to them.

Column names are compared with case, spaces and punctuation removed ("Location
Coord.Lat" is "locationcoordlat"), against each field's own name and its aliases; an
officer's `--map FIELD=COLUMN` wins over any guess.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from importers import values


def squash(name: str) -> str:
    """A column name without case, spaces or punctuation."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class Field:
    """One thing an importer reads from a row.

    `column` is the table column it is staged into (None for location inputs such as
    latitude, which become the geometry); `sql_type` is the staging column's type.
    """
    name: str
    parse: Callable = values.text
    aliases: tuple[str, ...] = ()
    column: str | None = None
    sql_type: str = "text"
    required: bool = False
    # "warning": a value that cannot be read is left out and the row still loads (a
    # broken web link should not keep a group off the map); "error": the row is refused.
    on_invalid: str = "error"
    help: str = ""
    squashed: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        names = (self.name, *self.aliases)
        object.__setattr__(self, "squashed", tuple(dict.fromkeys(squash(n) for n in names)))


@dataclass
class ColumnMatch:
    """Which column feeds which field, and what was left over."""
    columns: dict[str, str]          # field name -> column name in the file
    ignored: list[str]
    errors: list[str]


def column_notes(match: ColumnMatch) -> list[str]:
    """The report's notes on which columns were used and which were not."""
    notes = ["columns not used: " + ", ".join(match.ignored)] if match.ignored else []
    used = ", ".join(f"{name}={column}" for name, column in match.columns.items())
    return [*notes, f"columns used: {used}"]


def read_fields(report, number: int, row: dict, readers) -> tuple[dict, bool]:
    """Each (field, column) of `readers` parsed from `row`, and whether the row is refused:
    an unreadable value is an error, or for an `on_invalid="warning"` field a warning
    and the value left out."""
    found, refused = {}, False
    for f, column in readers:
        try:
            found[f.name] = f.parse(row.get(column))
        except values.Invalid as problem:
            if f.on_invalid == "warning":
                report.warn(number, f.name, f"{problem}; left out")
            else:
                report.error(number, f.name, str(problem))
                refused = True
    return found, refused


def parse_mapping(items) -> dict[str, str]:
    """`--map FIELD=COLUMN` options as a dict; `FIELD=` means "no column for FIELD"."""
    mapping = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--map {item!r}: write FIELD=COLUMN, e.g. --map name=\"Group name\"")
        name, column = item.split("=", 1)
        mapping[name.strip().lower().replace("-", "_")] = column.strip()
    return mapping


def match_columns(columns: list[str], fields: list[Field], overrides: dict[str, str] | None = None,
                  truncated_names: bool = False) -> ColumnMatch:
    """Match the file's columns to `fields`, in the fields' order of priority.

    With `truncated_names` (shapefiles cut names to 10 characters) a column also matches
    a field whose name or alias starts with it.
    """
    overrides = dict(overrides or {})
    by_squashed: dict[str, str] = {}
    for column in columns:
        by_squashed.setdefault(squash(column), column)
    known = {f.name for f in fields}
    chosen: dict[str, str] = {}
    errors = []
    for name, column in overrides.items():
        if name not in known:
            errors.append(f"--map {name}=...: there is no field {name!r} "
                          f"(fields: {', '.join(sorted(known))})")
        elif column:
            found = column if column in columns else by_squashed.get(squash(column))
            if found is None:
                errors.append(f"--map {name}={column}: the file has no column {column!r} "
                              f"(columns: {', '.join(columns)})")
            else:
                chosen[name] = found
    taken = set(chosen.values())
    for f in fields:
        if f.name in chosen or f.name in overrides:
            continue
        for alias in f.squashed:
            column = by_squashed.get(alias)
            if column is None and truncated_names:
                column = next((c for s, c in by_squashed.items()
                               if len(s) >= 6 and alias.startswith(s) and c not in taken), None)
            if column is not None and column not in taken:
                chosen[f.name] = column
                taken.add(column)
                break
    ignored = [c for c in columns if c not in taken and c.strip()]
    return ColumnMatch(chosen, ignored, errors)
