"""What an "I'm in" initiative achieved over a period, as an editor records it: the same
value parsers as every import, so a bad figure is named field by field. Only aggregates
are recorded (how many people, sessions and volunteers, and a mean score before and
after); the notes are for editors and are never published (migration 0008)."""
from __future__ import annotations

from importers import values


def _count(raw, what: str) -> int | None:
    value = values.integer(raw, what)
    if value is not None and value < 0:
        raise values.Invalid(f"{value} is not a number of {what} (0 or more)")
    return value


def _score(raw) -> float | None:
    return values.number(raw, "score")


FIELDS = {
    "people_supported": lambda raw: _count(raw, "people"),
    "sessions_held": lambda raw: _count(raw, "sessions"),
    "volunteers": lambda raw: _count(raw, "volunteers"),
    "volunteer_hours": lambda raw: values.number(raw, "number of hours"),
    "measured_people": lambda raw: _count(raw, "people"),
    "score_before": _score,
    "score_after": _score,
    "measure": values.text,
    "notes": values.text,
    "period_start": values.date,
    "period_end": values.date,
}


def parse_form(form: dict, initiatives: set[str], wards: set[str]) -> tuple[dict, list[str]]:
    """The outcomes table's values from the editor's form, and the problems ("field:
    reason"). Where: a place's number, a ward's code, or neither (the whole district)."""
    found, problems = {}, []
    for name, parse in FIELDS.items():
        try:
            found[name] = parse(form.get(name))
        except values.Invalid as problem:
            problems.append(f"{name}: {problem}")
    found["initiative_id"] = (form.get("initiative") or "").strip()
    if found["initiative_id"] not in initiatives:
        problems.append("initiative: choose an initiative from the list")
    for name in ("period_start", "period_end"):
        if found.get(name) is None and not any(p.startswith(name) for p in problems):
            problems.append(f"{name}: give the date (for example 2026-04-01)")
    start, end = found.get("period_start"), found.get("period_end")
    if start and end and start > end:
        problems.append("period_end: the period ends before it starts")
    level = form.get("level") or "district"
    found["place_id"] = found["ward_code"] = None
    if level == "place":
        try:
            found["place_id"] = values.integer(form.get("place_id"), "place number")
        except values.Invalid as problem:
            problems.append(f"place_id: {problem}")
        if found["place_id"] is None and not any(p.startswith("place_id") for p in problems):
            problems.append("place_id: give the place's number (as on its page)")
    elif level == "ward":
        found["ward_code"] = form.get("ward_code") or None
        if found["ward_code"] not in wards:
            problems.append("ward_code: choose a ward from the list")
    elif level != "district":
        problems.append("level: choose a place, a ward or the whole district")
    before, after = found.get("score_before"), found.get("score_after")
    if (before is None) != (after is None):
        problems.append("score_after: give both scores, before and after, or neither")
    if before is not None:
        if not found.get("measure"):
            problems.append("measure: say what was measured (for example the UCLA 3-item "
                            "loneliness scale)")
        if not found.get("measured_people"):
            problems.append("measured_people: say how many people were measured both "
                            "before and after")
        found["better"] = form.get("better") if form.get("better") in ("lower", "higher") \
            else None
        if found["better"] is None:
            problems.append("better: say whether a lower or a higher score is better")
    else:
        found["better"] = form.get("better") if form.get("better") in ("lower", "higher") \
            else None
    return found, problems
