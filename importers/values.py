"""Turn the text people type into spreadsheets into typed values, or say why not.

Each parser takes a raw cell (a string, or whatever a JSON or GIS reader produced) and
returns the normalised value, None for an empty cell, or raises `Invalid` with a reason a
council officer can act on.
"""
from __future__ import annotations

import datetime as dt
import math
import re


class Invalid(ValueError):
    """A cell that cannot be used; the message is the reason shown in the report."""


def text(raw) -> str | None:
    if raw is None:
        return None
    if raw.__class__ is not str:
        raw = str(raw)
    if "\x00" in raw:
        raw = raw.replace("\x00", "")
    return raw.strip() or None


def number(raw, what: str = "number") -> float | None:
    if raw is None:
        return None
    if raw.__class__ is str:
        try:
            value = float(raw)  # the common case, spaces and all
        except ValueError:
            cell = raw.strip()
            if not cell:
                return None
            # Spreadsheets in European locales write decimal commas ("53,6458").
            if cell.count(",") == 1 and "." not in cell:
                try:
                    value = float(cell.replace(",", "."))
                except ValueError:
                    raise Invalid(f"{cell!r} is not a {what}") from None
            else:
                raise Invalid(f"{cell!r} is not a {what}") from None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        raise Invalid(f"{raw!r} is not a {what}")
    if not math.isfinite(value):
        raise Invalid(f"{raw!r} is not a {what}")
    return value


def integer(raw, what: str = "whole number") -> int | None:
    """Whole numbers, allowing thousands separators as statistics files write them."""
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    cell = str(raw).strip().replace(",", "").replace(" ", "")
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise Invalid(f"{str(raw).strip()!r} is not a {what}") from None
    if not value.is_integer():
        raise Invalid(f"{str(raw).strip()!r} is not a {what}")
    return int(value)


TRUE = {"yes", "y", "true", "t", "1", "public", "show", "x", "✓"}
FALSE = {"no", "n", "false", "f", "0", "private", "hide", "-"}


def boolean(raw) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    cell = str(raw).strip().lower()
    if not cell:
        return None
    if cell in TRUE:
        return True
    if cell in FALSE:
        return False
    raise Invalid(f"{str(raw).strip()!r} is not yes or no")


MONTHS = {name: index for index, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
UK_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
WORDY_DATE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})$")


def date(raw) -> dt.date | None:
    """ISO dates (and timestamps), UK day/month/year, and "1 April 2024"."""
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # JSON APIs give Unix time, in seconds or (JavaScript) milliseconds.
        seconds = raw / 1000 if abs(raw) > 1e11 else raw
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC).date()
        except (OverflowError, OSError, ValueError):
            raise Invalid(f"{raw!r} is not a date") from None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    cell = str(raw).strip()
    if not cell:
        return None
    try:
        if match := ISO_DATE.match(cell):
            year, month, day = (int(part) for part in match.groups())
        elif match := UK_DATE.match(cell):
            day, month, year = (int(part) for part in match.groups())
            if year < 100:
                year += 2000 if year < 70 else 1900
        elif match := WORDY_DATE.match(cell):
            day, word, year = int(match.group(1)), match.group(2).lower()[:3], int(match.group(3))
            if word not in MONTHS:
                raise ValueError(word)
            month = MONTHS[word]
        else:
            raise ValueError(cell)
        return dt.date(year, month, day)
    except ValueError:
        raise Invalid(f"{cell!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)") from None


LIST_SEPARATORS = re.compile(r"\s*[;|]\s*")


def text_list(raw) -> list[str] | None:
    """A list from a JSON array or a cell: split on ';' or '|', else on ','."""
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        items = [text(item) for item in raw]
    else:
        cell = text(raw)
        if cell is None:
            return None
        if ";" in cell or "|" in cell:
            items = [text(item) for item in LIST_SEPARATORS.split(cell)]
        elif "," in cell:
            items = [text(item) for item in cell.split(",")]
        else:
            return [cell]
    return list(dict.fromkeys(item for item in items if item)) or None


def lower_text_list(raw) -> list[str] | None:
    items = text_list(raw)
    return None if items is None else list(dict.fromkeys(item.lower() for item in items))


def choice(options: dict[str, str], what: str):
    """A parser accepting any spelling in `options` (normalised key → stored value)."""
    def parse(raw):
        cell = text(raw)
        if cell is None:
            return None
        key = re.sub(r"[^a-z]", "", cell.lower())
        if key in options:
            return options[key]
        allowed = ", ".join(sorted(set(options.values())))
        raise Invalid(f"{cell!r} is not a {what} (one of {allowed})")
    return parse


URL_LIKE = re.compile(r"^(www\.|[a-z0-9-]+(\.[a-z0-9-]+)+(/|$))", re.IGNORECASE)


def url(raw) -> str | None:
    """A web address; "www.example.org" gains https:// so links work."""
    cell = text(raw)
    if cell is None:
        return None
    if re.match(r"^https?://", cell, re.IGNORECASE):
        return cell
    if re.match(r"^https?:/[^/]", cell, re.IGNORECASE):
        return re.sub(r"^(https?):/", r"\1://", cell, flags=re.IGNORECASE)
    if URL_LIKE.match(cell) and " " not in cell:
        return "https://" + cell
    raise Invalid(f"{cell!r} is not a web address")


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(raw) -> str | None:
    cell = text(raw)
    if cell is None:
        return None
    if cell.lower().startswith("mailto:"):
        cell = cell[7:]
    if not EMAIL.match(cell):
        raise Invalid(f"{cell!r} is not an e-mail address")
    return cell


POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")


def postcode(raw) -> str | None:
    """A UK postcode in its standard form ("HD1 2TA"); ONSPD's padded "HD1  2TA" too."""
    cell = text(raw)
    if cell is None:
        return None
    match = POSTCODE.match(cell.upper().replace(" ", "").replace("\xa0", ""))
    if not match:
        raise Invalid(f"{cell!r} is not a UK postcode")
    return f"{match.group(1)} {match.group(2)}"


def postcode_key(value: str) -> str:
    """The postcodes table's key: upper case, no spaces."""
    return value.replace(" ", "").upper()


def url_list(raw) -> list[str] | None:
    """Web addresses from a JSON array or a cell (split on ';', '|' or spaces)."""
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        items = raw
    else:
        items = [part for part in re.split(r"[;|\s]+", str(raw).strip()) if part]
        if len(items) > 1 and not all(re.match(r"^(https?:|www\.)", part, re.IGNORECASE)
                                      for part in items):
            items = [str(raw)]  # words, not several links
    links = [url(item) for item in items if text(item)]
    return list(dict.fromkeys(links)) or None
