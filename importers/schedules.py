"""Opening hours and sessions, read from the text people write ("Mon-Fri 9-5",
"Tuesdays 10:00-12:00", "1st Sat of the month") into structured rules: RFC 5545 days
(as Open Referral's schedule uses), weekly or monthly, with opening and closing times.

The original text is always kept. `parse` returns the rules it understood and, in the
order they came, the parts it did not, so an import report can list them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
             "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
_DAY_WORDS = {
    "MO": ("monday", "mondays", "mon", "mo"), "TU": ("tuesday", "tuesdays", "tues", "tue", "tu"),
    "WE": ("wednesday", "wednesdays", "weds", "wed", "we"),
    "TH": ("thursday", "thursdays", "thurs", "thur", "thu", "th"),
    "FR": ("friday", "fridays", "fri", "fr"), "SA": ("saturday", "saturdays", "sat", "sa"),
    "SU": ("sunday", "sundays", "sun", "su"),
}
WORD_TO_DAY = {word: day for day, words in _DAY_WORDS.items() for word in words}
_DAY = "(?:" + "|".join(sorted(WORD_TO_DAY, key=len, reverse=True)) + r")\.?"
_GROUPS = {"daily": DAYS, "every day": DAYS, "everyday": DAYS, "7 days a week": DAYS,
           "seven days a week": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:],
           "weekend": DAYS[5:]}
_ORDINALS = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4,
             "fourth": 4, "last": -1}
_ORDINAL = "(?:" + "|".join(_ORDINALS) + ")"
_TIME = r"(?:noon|midday|midnight|\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?)"
_RANGE = re.compile(rf"(?P<open>{_TIME})\s*(?:-|–|—|to|until|till)\s*(?P<close>{_TIME})", re.IGNORECASE)
_DAY_RANGE = re.compile(rf"(?P<first>{_DAY})\s*(?:-|–|—|to|through|thru)\s*(?P<last>{_DAY})", re.IGNORECASE)
_MONTHLY = re.compile(
    rf"(?:(?:on\s+)?(?:the\s+)?)(?P<ordinals>{_ORDINAL}(?:\s*(?:,|and|&)\s*{_ORDINAL})*)\s+"
    rf"(?P<day>{_DAY})\s*(?:of\s+)?(?:the|each|every)?\s*month(?:ly)?", re.IGNORECASE)
_BANK_HOLIDAYS = re.compile(r"\(?\s*(?:closed|not open)\s+(?:on\s+)?(?:all\s+)?bank\s+"
                            r"holidays?\s*\)?|\(?\s*(?:except|excluding|not)\s+(?:on\s+)?bank\s+"
                            r"holidays?\s*\)?", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*(?:;|\n|\|)\s*")


@dataclass(frozen=True)
class Rule:
    freq: str                          # WEEKLY or MONTHLY
    byday: tuple[str, ...]             # MO..SU, or 1TU / -1FR when monthly
    opens_at: dt.time | None
    closes_at: dt.time | None
    description: str                   # the part of the text it was read from

    def covers(self, day: str, at: dt.time | None = None) -> bool:
        """Open on `day` (MO..SU; a monthly rule counts on its weekday), at `at` if given."""
        if not any(d[-2:] == day for d in self.byday):
            return False
        if at is None or self.opens_at is None or self.closes_at is None:
            return at is None
        return self.opens_at <= at < self.closes_at


@dataclass
class Parsed:
    rules: list[Rule] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    closed_on_bank_holidays: bool = False


def _time(text: str) -> dt.time | None:
    text = text.strip().lower().replace(".", ":").replace("a:m:", "am").replace("p:m:", "pm")
    if text in ("noon", "midday"):
        return dt.time(12, 0)
    if text == "midnight":
        return dt.time(0, 0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not match:
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def _times(match: re.Match) -> tuple[dt.time, dt.time] | None:
    opens, closes = _time(match["open"]), _time(match["close"])
    if opens is None or closes is None:
        return None
    open_text, close_text = match["open"].lower(), match["close"].lower()
    has_half = any(h in open_text or h in close_text for h in ("am", "pm", "a.m", "p.m"))
    # "9-5" and "10-2" mean the afternoon: a one-digit closing hour before the opening one
    # ("12:00-10:00" is a 24-hour clock, and a mistake).
    one_digit = re.match(r"\d(?!\d)", close_text.strip()) is not None
    if not has_half and one_digit and closes <= opens:
        closes = closes.replace(hour=closes.hour + 12)
    # "1-4" with no am/pm: afternoon sessions, not 1 in the morning.
    if not has_half and opens.hour < 7 and closes.hour < 12 and opens < closes:
        opens, closes = opens.replace(hour=opens.hour + 12), closes.replace(hour=closes.hour + 12)
    # "1-3pm": the afternoon of the closing time's half of the day applies to both, unless
    # that would put the opening after the closing ("11-1pm" opens at 11 in the morning).
    open_half = any(h in open_text for h in ("am", "pm", "a.m", "p.m"))
    if (not open_half and "p" in close_text and opens.hour < 12
            and opens.replace(hour=opens.hour + 12) < closes):
        opens = opens.replace(hour=opens.hour + 12)
    if closes <= opens:
        return None
    return opens, closes


def _days(text: str) -> tuple[str, ...] | None:
    """The weekdays a text names ("Mon-Fri", "Mon, Wed and Fri", "weekends"), in order."""
    found: list[str] = []
    rest = text.lower()
    for word, days in _GROUPS.items():
        if re.search(rf"\b{word}\b", rest):
            found.extend(days)
            rest = re.sub(rf"\b{word}\b", " ", rest)
    for match in _DAY_RANGE.finditer(rest):
        first = DAYS.index(WORD_TO_DAY[match["first"].rstrip(".").lower()])
        last = DAYS.index(WORD_TO_DAY[match["last"].rstrip(".").lower()])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        found.extend(DAYS[i] for i in span)
    rest = _DAY_RANGE.sub(" ", rest)
    for word in re.findall(rf"\b{_DAY}(?=\W|$)", rest):
        found.append(WORD_TO_DAY[word.rstrip(".")])
        rest = rest.replace(word, " ", 1)
    if not found:
        return None
    # Anything left but joining words means the part said more than days.
    if re.sub(r"\b(?:and|&|on|every|each|from|open|,|/|\+|-|s)\b|[,&/+.\s-]", "", rest):
        return None
    return tuple(d for d in DAYS if d in found)


def _part(text: str) -> list[Rule] | None:
    """The rules one part of the text states, or None if it is not understood."""
    times = None
    ranges = list(_RANGE.finditer(text))
    if len(ranges) > 1:
        return None
    remaining = text
    if ranges:
        times = _times(ranges[0])
        if times is None:
            return None
        remaining = text[:ranges[0].start()] + " " + text[ranges[0].end():]
    remaining = re.sub(r"\b(?:from|between|open|opening|sessions?|:)\b|[:()]", " ", remaining,
                       flags=re.IGNORECASE).strip(" ,.-")
    opens, closes = times if times else (None, None)
    monthly = _MONTHLY.search(remaining)
    if monthly:
        leftover = (remaining[:monthly.start()] + remaining[monthly.end():]).strip(" ,.-")
        if leftover:
            return None
        ordinals = [_ORDINALS[o.lower()] for o in
                    re.findall(_ORDINAL, monthly["ordinals"], flags=re.IGNORECASE)]
        day = WORD_TO_DAY[monthly["day"].rstrip(".").lower()]
        return [Rule("MONTHLY", tuple(f"{n}{day}" for n in ordinals), opens, closes, text.strip())]
    days = _days(remaining)
    if days is None:
        return None
    return [Rule("WEEKLY", days, opens, closes, text.strip())]


def parse(text: str | None) -> Parsed:
    """The rules in `text`, and the parts not understood (as written)."""
    parsed = Parsed()
    if not text or not text.strip():
        return parsed
    if _BANK_HOLIDAYS.search(text):
        parsed.closed_on_bank_holidays = True
        text = _BANK_HOLIDAYS.sub(" ", text)
    for part in _SEPARATORS.split(text):
        part = part.strip(" ,.")
        if not part:
            continue
        rules = _part(part)
        if rules is None:
            # "Mon 9-12, Wed 1-4": commas between day-and-time pairs.
            pieces = [p for p in re.split(r"\s*,\s*(?=" + _DAY + ")", part, flags=re.IGNORECASE) if p]
            if len(pieces) > 1 and all(_part(p) for p in pieces):
                rules = [rule for p in pieces for rule in _part(p)]
        if rules is None:
            parsed.not_understood.append(part)
        else:
            parsed.rules.extend(rules)
    return parsed


def describe(rule: Rule) -> str:
    """A rule in plain words: "Tuesday, 10:00 to 12:00", "The first Saturday of the month"."""
    if rule.freq == "MONTHLY":
        words = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
        days = " and ".join(f"the {words[int(d[:-2])]} {DAY_NAMES[d[-2:]]}" for d in rule.byday)
        when = f"{days[0].upper()}{days[1:]} of the month"
    elif rule.byday == DAYS:
        when = "Every day"
    else:
        names = [DAY_NAMES[d] for d in rule.byday]
        when = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if rule.opens_at and rule.closes_at:
        when += f", {rule.opens_at:%H:%M} to {rule.closes_at:%H:%M}"
    return when


# -- in the database ----------------------------------------------------------------------

_CHANGED = """
    SELECT o.owner, o.place_id, o.service_id, o.name, o.text
      FROM (SELECT 'place:' || p.id AS owner, p.id AS place_id, NULL::uuid AS service_id,
                   p.name, p.opening_hours AS text
              FROM places p WHERE p.deleted_at IS NULL {places}
            UNION ALL
            SELECT 'service:' || s.id, NULL, s.id, s.name, s.schedule_text
              FROM services s WHERE s.deleted_at IS NULL {services}) o
      LEFT JOIN schedule_texts t ON t.owner = o.owner
     WHERE o.text IS DISTINCT FROM t.text
"""


def refresh(connection, *, run_id: int | None = None, place_id: int | None = None,
            service_id: str | None = None) -> list[tuple[str, str]]:
    """Parse again every opening-hours text that changed since it was last parsed (only
    the places of import run `run_id`, or the one place or service an editor changed, when
    given) and store its rules in `schedules`. Returns (name, part) for each part that was
    not understood."""
    from sqlalchemy import text as sql

    places, services = "", ""
    if run_id is not None:
        places, services = "AND p.import_run_id = :run_id", "AND FALSE"
    elif place_id is not None or service_id is not None:
        places = "AND p.id = :place_id" if place_id is not None else "AND FALSE"
        services = ("AND s.id = CAST(:service_id AS uuid)" if service_id is not None
                    else "AND FALSE")
    if run_id is None and place_id is None and service_id is None:
        # What a removed place or service was parsed from goes with it.
        connection.execute(sql(
            "DELETE FROM schedule_texts t WHERE NOT EXISTS (SELECT 1 FROM places p "
            "WHERE t.owner = 'place:' || p.id AND p.deleted_at IS NULL) AND NOT EXISTS "
            "(SELECT 1 FROM services s WHERE t.owner = 'service:' || s.id "
            "AND s.deleted_at IS NULL)"))
    changed = connection.execute(sql(_CHANGED.format(places=places, services=services)),
                                 {"run_id": run_id, "place_id": place_id,
                                  "service_id": service_id}).mappings().all()
    if not changed:
        return []
    owners = [row["owner"] for row in changed]
    place_ids = [row["place_id"] for row in changed if row["place_id"] is not None]
    service_ids = [row["service_id"] for row in changed if row["service_id"] is not None]
    connection.execute(sql("DELETE FROM schedules WHERE place_id = ANY(:places) "
                           "OR service_id = ANY(CAST(:services AS uuid[]))"),
                       {"places": place_ids, "services": service_ids})
    connection.execute(sql("DELETE FROM schedule_texts WHERE owner = ANY(:owners)"),
                       {"owners": owners})
    rules, texts, missed = [], [], []
    for row in changed:
        if row["text"] is None:
            continue
        parsed = parse(row["text"])
        texts.append({"owner": row["owner"], "text": row["text"],
                      "not_understood": parsed.not_understood})
        missed.extend((row["name"], part) for part in parsed.not_understood)
        for n, rule in enumerate(parsed.rules):
            rules.append({"key": f"schedule:{row['owner']}:{n}", "place": row["place_id"],
                          "service": row["service_id"], "freq": rule.freq,
                          "byday": list(rule.byday), "opens": rule.opens_at,
                          "closes": rule.closes_at,
                          "description": describe(rule)
                          + (" (closed on bank holidays)" if parsed.closed_on_bank_holidays
                             else "")})
    if texts:
        connection.execute(sql("INSERT INTO schedule_texts (owner, text, not_understood) "
                               "VALUES (:owner, :text, :not_understood)"), texts)
    if rules:
        connection.execute(sql(
            "INSERT INTO schedules (id, place_id, service_id, freq, byday, opens_at, closes_at, "
            "description) VALUES (assetmap_uuid(:key), :place, :service, :freq, :byday, "
            ":opens, :closes, :description)"), rules)
    return missed


def note(missed: list[tuple[str, str]], shown: int = 10) -> str | None:
    """The import report's note on opening hours that were kept as text only."""
    if not missed:
        return None
    examples = "; ".join(f"{name}: {part!r}" for name, part in missed[:shown])
    more = f" (and {len(missed) - shown:,} more)" if len(missed) > shown else ""
    return (f"opening hours not understood, kept as text only, so 'open now' and day filters "
            f"cannot find them ({len(missed):,}): {examples}{more}")
