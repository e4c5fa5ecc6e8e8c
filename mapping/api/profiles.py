"""Ward and priority neighbourhood profiles (`/api/wards/<code>`,
`/api/neighbourhoods/<code>`): layers.profiles.area_profile, with ETags."""
from __future__ import annotations

import json

from layers.profiles import area_profile
from layers.query import check_known
from mapping.api.feed_http import (
    JSON,
    ApiRequest,
    data_version,
    is_fresh,
    not_modified,
    validators,
)
from mapping.core import db
from mapping.core.errors import ApiError


def profile(api: ApiRequest, kind: str, code: str):
    """A ward's or priority neighbourhood's profile (layers.profiles.area_profile)."""
    check_known(api.args, set())
    with db.read_engine().connect() as connection:
        version, changed_at = data_version(connection)
        if api.conditional and is_fresh(api, version, changed_at):
            return not_modified(api, version, changed_at)
        body = area_profile(connection, kind, code)
    if body is None:
        label = "ward" if kind == "ward" else "priority neighbourhood"
        raise ApiError(404, f"there is no {label} with the code {code!r}", parameter="code")
    headers = {**validators(version, changed_at, api), "Content-Type": JSON}
    return headers, 200, json.dumps(body, ensure_ascii=False, separators=(",", ":"))
