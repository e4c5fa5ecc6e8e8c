"""Pages for residents: the list of places (the map enhances it) and each place's page."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import text

from mapping import db

bp = Blueprint("residents", __name__)

KIND_LABELS = {
    "community_asset": "Community assets",
    "transferred_building": "Transferred buildings",
    "mutual_aid_group": "Mutual aid groups",
    "hub": "Community hubs",
}

PLACE_LIST = text("""
    SELECT p.id, p.kind, p.name, p.categories, p.ward_code, w.name AS ward_name
      FROM places p LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
     WHERE p.deleted_at IS NULL
     ORDER BY p.kind, p.name
""")

PLACE = text("""
    SELECT p.*, ST_Y(ST_PointOnSurface(p.geom)) AS lat, ST_X(ST_PointOnSurface(p.geom)) AS lon,
           w.name AS ward_name
      FROM places p LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
     WHERE p.id = :id AND p.deleted_at IS NULL
""")


def is_demo(connection) -> bool:
    return bool(connection.execute(
        text("SELECT EXISTS (SELECT 1 FROM import_runs WHERE source = 'demo')")).scalar())


@bp.get("/")
def index():
    with db.read_engine().connect() as connection:
        places = connection.execute(PLACE_LIST).mappings().all()
        demo = is_demo(connection)
    groups = {kind: [p for p in places if p["kind"] == kind] for kind in KIND_LABELS}
    return render_template("residents/index.html", groups=groups, labels=KIND_LABELS,
                           total=len(places), demo=demo)


@bp.get("/places/<int:place_id>")
def place(place_id: int):
    with db.read_engine().connect() as connection:
        row = connection.execute(PLACE, {"id": place_id}).mappings().first()
        demo = is_demo(connection)
    if row is None:
        abort(404, description="There is no place with that number.")
    return render_template("residents/place.html", place=row, label=KIND_LABELS[row["kind"]],
                           demo=demo)
