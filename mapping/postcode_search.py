"""Postcode search, shared by the finder (`/`, `/places.json`) and `/api/nearest`: what a
resident typed made into a postcode, whether postcode search can run at all, and the words
the finder says about the answer. finder.js receives the same words in the page's config,
so a resident reads the same message with JavaScript on or off."""
from __future__ import annotations

import re
from dataclasses import dataclass

from layers.extents import VersionedCache
from mapping import queries

# Outward code (A9, A99, A9A, AA9, AA99, AA9A) then inward code (9AA), spaces removed.
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")
# Room for a postcode typed with extra spaces ("  hd1   2ta "); anything longer is not one.
MAX_TYPED = 20

MESSAGES = {
    "not_a_postcode": "“{postcode}” does not look like a postcode. Enter a full postcode, "
                      "like HD1 2AB.",
    "unknown": "We could not find the postcode {postcode} among Kirklees postcodes. Check it, "
               "or search by name instead.",
    "outside": "{postcode} is outside Kirklees. These are the nearest places within "
               f"{queries.OUTSIDE_RADIUS_M // 1000} km of it.",
    "outside_none": "{postcode} is outside Kirklees, and no places are within "
                    f"{queries.OUTSIDE_RADIUS_M // 1000} km of it. You can search by name "
                    "instead.",
    "location_outside": "Your location is outside Kirklees. These are the nearest places "
                        f"within {queries.OUTSIDE_RADIUS_M // 1000} km of it.",
    "location_outside_none": "Your location is outside Kirklees, and no places are within "
                             f"{queries.OUTSIDE_RADIUS_M // 1000} km of it. You can search "
                             "by postcode or by name instead.",
    "unavailable": "Postcode search is not available yet. You can search by name instead.",
    "unavailable_hint": "Postcode search is not available yet",
}


def message(name: str, postcode: str = "") -> str:
    return MESSAGES[name].format(postcode=postcode)


@dataclass(frozen=True)
class Typed:
    """A postcode as typed: `text` is how the finder shows it back (upper case, single
    spaces; a well-formed postcode as "HD1 2TA"), `key` how the postcodes table finds it."""

    text: str
    key: str

    @property
    def well_formed(self) -> bool:
        return bool(POSTCODE.match(self.key))


def typed(raw: str | None) -> Typed:
    words = " ".join((raw or "").upper().split())[:MAX_TYPED]
    key = words.replace(" ", "")
    if POSTCODE.match(key):
        return Typed(f"{key[:-3]} {key[-3:]}", key)
    return Typed(words, key)


_status = VersionedCache()


def status(connection) -> dict:
    """How many postcodes are loaded and when they last were, read once per data version
    (counting 1.7 million GB postcodes for every health check would be wasted work)."""
    version = connection.execute(queries.DATA_VERSION).scalar()
    return dict(_status.get(connection, version, lambda: queries.postcode_status(connection)))
