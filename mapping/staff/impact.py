""""I'm in" for editors: a place's volunteering opportunities (added, changed, removed
and restored), and what each initiative achieved (outcomes). The forms are read by the
same parsers as a file (importers/opportunities.py, importers/outcomes.py), and every
change is in the audit trail, in the same transaction."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from importers import opportunities, outcomes
from mapping.core import db
from mapping.staff import audit, store
from mapping.staff.auth import acting_user, require
from mapping.staff.editors import _place_or_404

bp = Blueprint("impact_editors", __name__, url_prefix="/edit")


def _opportunity_form(connection, form, place) -> tuple[dict, list[str]]:
    values, problems = opportunities.parse_form(form)
    known = {i["id"] for i in store.initiatives(connection)}
    if values.get("initiative_id") is not None and values["initiative_id"] not in known:
        problems.append("initiative: choose an initiative from the list")
    # The way to apply is published: never the place's private e-mail or phone.
    if place is not None:
        if (values.get("apply_email") and not place["email_public"] and place["email"]
                and values["apply_email"].lower() == place["email"].lower()):
            problems.append("apply_email: this is the place's private e-mail address, and "
                            "the way to apply is published; give a public address")
        digits = "".join(c for c in values.get("apply_phone") or "" if c.isdigit())
        if (digits and not place["phone_public"] and place["phone"]
                and digits == "".join(c for c in place["phone"] if c.isdigit())):
            problems.append("apply_phone: this is the place's private telephone number, and "
                            "the way to apply is published; give a public number")
    return values, problems


@bp.route("/places/<int:place_id>/opportunities/new", methods=["GET", "POST"])
@require("editor")
def new_opportunity(place_id: int):
    with db.engine().begin() as connection:
        place = _place_or_404(connection, place_id)
        problems = []
        if request.method == "POST":
            values, problems = _opportunity_form(connection, request.form, place)
            if not problems:
                opportunity_id = store.save_opportunity(connection, None, place_id, values)
                audit.record(connection, acting_user(), "create", "opportunities",
                             opportunity_id, None, audit.row_as_dict(
                                 connection, "opportunities", "id", opportunity_id))
                flash("Opportunity added.")
                return redirect(url_for("impact_editors.edit_opportunity",
                                        opportunity_id=opportunity_id))
        initiatives = store.initiatives(connection)
    return render_template("editors/opportunity.html", place=place, opportunity=None,
                           initiatives=initiatives, problems=problems,
                           form=request.form), 400 if problems else 200


@bp.route("/opportunities/<uuid:opportunity_id>", methods=["GET", "POST"])
@require("editor")
def edit_opportunity(opportunity_id):
    opportunity_id = str(opportunity_id)
    with db.engine().begin() as connection:
        found = store.opportunity(connection, opportunity_id)
        if found is None:
            abort(404, description="There is no opportunity with that id.")
        place = store.place(connection, found["place_id"]) if found["place_id"] else None
        problems = []
        if request.method == "POST":
            values, problems = _opportunity_form(connection, request.form, place)
            if not problems:
                audit.changed(connection, acting_user(), "update", "opportunities",
                              opportunity_id, lambda: store.save_opportunity(
                                  connection, opportunity_id, found["place_id"], values))
                flash("Saved.")
                return redirect(url_for("impact_editors.edit_opportunity",
                                        opportunity_id=opportunity_id))
        initiatives = store.initiatives(connection)
    return render_template("editors/opportunity.html", place=place, opportunity=found,
                           initiatives=initiatives, problems=problems,
                           form=request.form), 400 if problems else 200


@bp.post("/opportunities/<uuid:opportunity_id>/remove")
@require("editor")
def remove_opportunity(opportunity_id):
    return _set_removed("opportunities", str(opportunity_id), True)


@bp.post("/opportunities/<uuid:opportunity_id>/restore")
@require("editor")
def restore_opportunity(opportunity_id):
    return _set_removed("opportunities", str(opportunity_id), False)


def _set_removed(table: str, record_id, removed: bool):
    setter = {"opportunities": store.set_opportunity_removed,
              "outcomes": store.set_outcome_removed}[table]
    with db.engine().begin() as connection:
        if not audit.changed(connection, acting_user(), "remove" if removed else "restore",
                             table, record_id,
                             lambda: setter(connection, record_id, removed)):
            abort(404, description="There is no such record.")
    flash("Removed from the public map." if removed else "Shown on the public map again.")
    if table == "opportunities":
        return redirect(url_for("impact_editors.edit_opportunity", opportunity_id=record_id))
    return redirect(url_for("impact_editors.edit_outcome", outcome_id=record_id))


# -- outcomes -----------------------------------------------------------------------------

def _outcome_form(connection, form, outcome_id: int | None = None) -> tuple[dict, list[str]]:
    values, problems = outcomes.parse_form(
        form, {i["id"] for i in store.initiatives(connection)},
        {code for code, _ in store.wards(connection)})
    if values.get("place_id") is not None and not store.place_exists(connection,
                                                                     values["place_id"]):
        problems.append(f"place_id: no place on the map has the number {values['place_id']}")
    if not problems and (other := store.same_outcome(connection, values, outcome_id)):
        problems.append(f"period_start: results for this initiative, period and place are "
                        f"already recorded (number {other}); change those instead")
    return values, problems


def _outcome_page(connection, found, problems, status=200):
    return render_template("editors/outcome.html", outcome=found, problems=problems,
                           initiatives=store.initiatives(connection),
                           wards=store.wards(connection), form=request.form), status


@bp.get("/outcomes")
@require("editor")
def outcome_list():
    with db.engine().connect() as connection:
        rows = store.outcomes(connection)
    return render_template("editors/outcomes.html", outcomes=rows)


@bp.route("/outcomes/new", methods=["GET", "POST"])
@require("editor")
def new_outcome():
    with db.engine().begin() as connection:
        problems = []
        if request.method == "POST":
            values, problems = _outcome_form(connection, request.form)
            if not problems:
                user = acting_user()
                outcome_id = store.save_outcome(connection, None, values, user.email)
                audit.record(connection, user, "create", "outcomes", outcome_id, None,
                             audit.row_as_dict(connection, "outcomes", "id", outcome_id))
                flash("Results recorded.")
                return redirect(url_for("impact_editors.edit_outcome", outcome_id=outcome_id))
        return _outcome_page(connection, None, problems, 400 if problems else 200)


@bp.route("/outcomes/<int:outcome_id>", methods=["GET", "POST"])
@require("editor")
def edit_outcome(outcome_id: int):
    with db.engine().begin() as connection:
        found = store.outcome(connection, outcome_id)
        if found is None:
            abort(404, description="There is no outcome with that number.")
        problems = []
        if request.method == "POST":
            values, problems = _outcome_form(connection, request.form, outcome_id)
            if not problems:
                audit.changed(connection, acting_user(), "update", "outcomes", outcome_id,
                              lambda: store.save_outcome(connection, outcome_id, values, ""))
                flash("Saved.")
                return redirect(url_for("impact_editors.edit_outcome", outcome_id=outcome_id))
        return _outcome_page(connection, found, problems, 400 if problems else 200)


@bp.post("/outcomes/<int:outcome_id>/remove")
@require("editor")
def remove_outcome(outcome_id: int):
    return _set_removed("outcomes", outcome_id, True)


@bp.post("/outcomes/<int:outcome_id>/restore")
@require("editor")
def restore_outcome(outcome_id: int):
    return _set_removed("outcomes", outcome_id, False)
