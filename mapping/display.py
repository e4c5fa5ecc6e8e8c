"""How the pages word things: kind names, walking distances, safe links, dates.

static/js/mapkit.js words distances the same way (tests/browser checks the two agree).
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from flask import Flask, current_app

from layers.kinds import KINDS

KIND_LABELS = {kind.id: kind.plural for kind in KINDS.values()}
KIND_SINGULAR = {kind.id: kind.singular for kind in KINDS.values()}
KIND_SHORT = {kind.id: kind.short for kind in KINDS.values()}
# Marker letters, so a kind is told apart by more than its colour.
KIND_LETTERS = {kind.id: kind.letter for kind in KINDS.values()}

# 4.8 km/h, the usual planning figure for walking; distances are straight lines.
WALKING_METRES_PER_MINUTE = 80
WALKABLE_METRES = 8000
SAFE_SCHEMES = ("http", "https", "mailto", "tel")


def _half_up(value: float) -> int:
    return int(value + 0.5)


def distance_text(metres: float) -> str:
    if metres < 10:
        return "under 10 m"
    if metres < 1000:
        return f"{max(10, _half_up(metres / 10) * 10)} m"
    return f"{metres / 1000:.1f} km"


def walking_distance(metres: float | None, precision: str = "exact") -> str:
    """'350 m, about a 4 minute walk' — or 'Covers this area' for a group whose area
    includes the point searched from."""
    if metres is None:
        return ""
    if metres < 1 and precision == "area":
        return "Covers this area"
    shown = distance_text(metres)
    if metres > WALKABLE_METRES:
        return f"{shown} away"
    minutes = max(1, _half_up(metres / WALKING_METRES_PER_MINUTE))
    if minutes < 60:
        return f"{shown}, about a {minutes} minute walk"
    hours, minutes = divmod(minutes, 60)
    return f"{shown}, about a {hours} hour {minutes} minute walk" if minutes else \
        f"{shown}, about a {hours} hour walk"


def safe_url(url: str | None) -> str | None:
    """The URL when its scheme is one people can safely follow from a listing, else None."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in SAFE_SCHEMES and not any(c in url for c in "\r\n\t") else None


def long_date(value: date | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {value:%B %Y}"


def number(value: float | None, places: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{places}f}"


def map_config(**extra) -> dict:
    """What a page's map script needs, sent as a JSON script tag (no inline script: CSP)."""
    settings = current_app.extensions["assetmap.settings"]
    return {"basemap": {"url": settings.basemap_url, "attribution": settings.basemap_attribution},
            "kinds": {kind: {"label": label, "letter": KIND_LETTERS[kind]}
                      for kind, label in KIND_SINGULAR.items()},
            **extra}


def init_app(app: Flask) -> None:
    app.add_template_filter(walking_distance, "walking")
    app.add_template_filter(safe_url, "safe_url")
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(number, "number")
    app.add_template_global(KIND_LABELS, "KIND_LABELS")
    app.add_template_global(KIND_SINGULAR, "KIND_SINGULAR")
    app.add_template_global(KIND_LETTERS, "KIND_LETTERS")
    app.add_template_global(KIND_SHORT, "short_labels")
