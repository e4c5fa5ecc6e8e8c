"""Opportunities as the Volunteering Data Standard (ODI / DCMS, namespace
https://ns.volunteeringdata.io/) publishes them: JSON-LD, an Activity run by an
Organisation, with a Role (what you would do, the commitment, minimum age, requirements,
skills, accessibility, how to apply) and a Session at a Location and week slots.

The standard has no contact e-mail or phone, closing date or commitment kind: the closing
date is its `publishEnd` (the date publication ends), the commitment is its free text
(with our kind as `commitmentType`, in our own namespace), and e-mail and phone are ours.
Records come from `published_opportunities`, so an area-level group's opportunity is at
its public point with no address, as everywhere else.
"""
from __future__ import annotations

import re

from importers import schedules

NAMESPACE = "https://ns.volunteeringdata.io/"
CONTEXT = "https://api.volunteeringdata.io/context/v1"
# Terms the standard does not have, in the map's own namespace.
OWN = "https://kirklees-assetmap.example/ns/"
# The standard's week slots: morning 6am to 12pm, afternoon to 6pm, evening to midnight.
SLOTS = (("Morning", 6, 12), ("Afternoon", 12, 18), ("Evening", 18, 24))
DAY_WORDS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
             "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}


# The slots as a file may name them: MondayMorning, "Sunday evening".
SLOT = re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day ?(morning|afternoon|evening)\b",
                  re.IGNORECASE)


def week_slots(schedule: str | None) -> list[str]:
    """The standard's slot IRIs a schedule's sessions fall in ("Tuesdays 10am-12pm" is
    TuesdayMorning, and a slot named as such is itself); a session with no times is every
    slot of its day."""
    found = [f"{NAMESPACE}{m.group(1).capitalize()}day{m.group(2).capitalize()}"
             for m in SLOT.finditer(schedule or "")]
    for rule in schedules.parse(schedule).rules:
        for day in rule.byday:
            for name, start, end in SLOTS:
                opens = rule.opens_at.hour if rule.opens_at else None
                closes = (rule.closes_at.hour + (rule.closes_at.minute > 0)
                          if rule.closes_at else None)
                if opens is None or (opens < end and (closes or 24) > start):
                    found.append(f"{NAMESPACE}{DAY_WORDS[day[-2:]]}{name}")
    return list(dict.fromkeys(found))


def activity(row: dict, url: str, place_url: str) -> dict:
    """One open opportunity (a row of layers.volunteering.for_standard) as an Activity."""
    role = {"type": "Role", "title": row["title"], "description": row["description"],
            "commitment": row["commitment_text"],
            f"{OWN}commitmentType": row["commitment"],
            "minimumAge": None if row["minimum_age"] is None else str(row["minimum_age"]),
            "requirement": [f"{NAMESPACE}DBSCheck"] if row["dbs_check"] else [],
            "skill": row["skills"], "accessibility": row["accessibility"],
            "applyLink": row["apply_url"], "allowsRemoteParticipation": False,
            f"{OWN}applyEmail": row["apply_email"], f"{OWN}applyPhone": row["apply_phone"]}
    location = {"type": "Location", "id": place_url, "name": row["place_name"],
                "address": ", ".join(p for p in (row["address"], row["postcode"]) if p) or None,
                "latitude": round(row["lat"], 6), "longitude": round(row["lon"], 6)}
    document = {
        "type": "Activity", "id": url, "title": row["title"],
        "description": row["description"],
        "publishEnd": row["closes_on"].isoformat() if row["closes_on"] else None,
        "organisation": {"type": "Organisation", "name": row["organisation_name"]},
        "role": [_drop_empty(role)],
        "session": [_drop_empty({"type": "Session", "location": _drop_empty(location),
                                 "time": week_slots(row["schedule_text"])})],
    }
    if row["initiative_name"]:
        document[f"{OWN}initiative"] = row["initiative_name"]
    return _drop_empty(document)


def _drop_empty(record: dict) -> dict:
    return {k: v for k, v in record.items() if v not in (None, [], "")}


def collection(activities: list[dict], publisher: str, licence: str, modified: str) -> dict:
    """The activities as one JSON-LD document with the dataset metadata the standard asks
    for (publisher, licence, modified, conformsTo)."""
    return {"@context": CONTEXT, "conformsTo": NAMESPACE, "publisher": publisher,
            "license": licence, "modified": modified, "graph": activities}
