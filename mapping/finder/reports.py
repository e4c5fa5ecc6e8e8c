"""Residents tell editors when a listing is wrong: a short form on each place, stored for
editors, rate-limited so it cannot be used to flood them."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from mapping import queries
from mapping.core import db
from mapping.staff import store

bp = Blueprint("reports", __name__)

REASONS = {
    "closed": "It has closed or moved",
    "details": "The details are wrong",
    "location": "It is in the wrong place on the map",
    "inappropriate": "It should not be listed",
    "other": "Something else",
}


def _place(connection, place_id: int):
    row = queries.place_name(connection, place_id)
    if row is None:
        abort(404, description="There is no place with that number.")
    return row


@bp.route("/places/<int:place_id>/report", methods=["GET", "POST"])
def report(place_id: int):
    problems = []
    with db.engine().begin() as connection:
        place = _place(connection, place_id)
        if request.method == "POST":
            reason = request.form.get("reason")
            details = (request.form.get("details") or "").strip()
            if reason not in REASONS:
                problems.append("Choose what is wrong.")
            if len(details) > 2000:
                problems.append("Please keep the details under 2,000 characters.")
            if not problems:
                store.add_report(connection, place_id, reason, details or None)
                return render_template("reports/thanks.html", place=place), 201
    return render_template("reports/form.html", place=place, reasons=REASONS,
                           problems=problems, form=request.form), 400 if problems else 200
