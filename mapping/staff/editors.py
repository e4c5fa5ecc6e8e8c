"""Pages for editors: stale listings and residents' reports first, then editing, hiding
and adding places. Every change is written to the audit trail in the same transaction."""
from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from importers import schedules
from importers.services import parse_form
from layers.kinds import KINDS, PRECISIONS
from mapping.core import db
from mapping.staff import audit, store
from mapping.staff.auth import acting_user, require

bp = Blueprint("editors", __name__, url_prefix="/edit")

EDITABLE = ("name", "description", "address", "postcode", "website", "phone", "email",
            "accessibility", "opening_hours", "location_precision")
FLAGS = ("phone_public", "email_public")

def _settings():
    return current_app.extensions["assetmap.settings"]


@bp.get("")
@require("editor")
def dashboard():
    cutoff = dt.date.today() - dt.timedelta(days=_settings().stale_after_days)
    with db.engine().connect() as connection:
        lists = store.dashboard(connection, cutoff)
    outside = lists["outside"]
    return render_template("editors/dashboard.html", **lists,
                           outside_total=outside[0].total if outside else 0,
                           cutoff=cutoff, user=acting_user())


def _form_values(form) -> tuple[dict, list[str]]:
    values, problems = {}, []
    for field in EDITABLE:
        value = (form.get(field) or "").strip()
        values[field] = value or None
    for flag in FLAGS:
        values[flag] = form.get(flag) == "on"
    if not values["name"]:
        problems.append("name: a place needs a name")
    if values["location_precision"] not in PRECISIONS:
        problems.append(f"location_precision: choose one of {', '.join(PRECISIONS)}")
    website = values["website"]
    if website and not website.startswith(("https://", "http://")):
        problems.append("website: must start with https:// or http://")
    return values, problems


def _coordinates(form) -> tuple[float | None, float | None, list[str]]:
    try:
        lon, lat = float(form.get("lon", "")), float(form.get("lat", ""))
    except ValueError:
        return None, None, ["lon/lat: give the longitude and latitude as numbers"]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None, None, ["lon/lat: outside the world"]
    return lon, lat, []


def _place_or_404(connection, place_id: int):
    place = store.place(connection, place_id)
    if place is None:
        abort(404, description="There is no place with that number.")
    return place


@bp.route("/places/<int:place_id>", methods=["GET", "POST"])
@require("editor")
def edit_place(place_id: int):
    with db.engine().begin() as connection:
        place = _place_or_404(connection, place_id)
        problems = []
        if request.method == "POST":
            values, problems = _form_values(request.form)
            if request.form.get("verified") == "on":
                values["last_verified"] = dt.date.today()
            else:
                values["last_verified"] = place["last_verified"]
            if not problems:
                def change():
                    store.update_place(connection, place_id, values)
                    schedules.refresh(connection, place_id=place_id)

                audit.changed(connection, acting_user(), "update", "places", place_id, change)
                flash("Saved.")
                return redirect(url_for("editors.edit_place", place_id=place_id))
        services = store.place_services(connection, place_id)
        opportunities = store.place_opportunities(connection, place_id)
    return render_template("editors/place.html", place=place, problems=problems,
                           services=services, opportunities=opportunities,
                           precisions=PRECISIONS,
                           form=request.form), 400 if problems else 200


@bp.post("/places/<int:place_id>/hide")
@require("editor")
def hide_place(place_id: int):
    return _set_hidden(place_id, True)


@bp.post("/places/<int:place_id>/show")
@require("editor")
def show_place(place_id: int):
    return _set_hidden(place_id, False)


def _set_hidden(place_id: int, hidden: bool):
    with db.engine().begin() as connection:
        if not audit.changed(connection, acting_user(), "hide" if hidden else "show",
                             "places", place_id,
                             lambda: store.set_hidden(connection, place_id, hidden)):
            abort(404, description="There is no place with that number.")
    flash("Hidden from the public map." if hidden else "Shown on the public map again.")
    return redirect(url_for("editors.edit_place", place_id=place_id))


@bp.route("/places/new", methods=["GET", "POST"])
@require("editor")
def new_place():
    problems = []
    if request.method == "POST":
        values, problems = _form_values(request.form)
        lon, lat, more = _coordinates(request.form)
        problems += more
        kind = request.form.get("kind")
        if kind not in KINDS:
            problems.append(f"kind: choose one of {', '.join(KINDS)}")
        if not problems:
            with db.engine().begin() as connection:
                place_id = store.add_place(connection, kind, values, lon, lat)
                schedules.refresh(connection, place_id=place_id)
                audit.record(connection, acting_user(), "create", "places", place_id, None,
                             audit.row_as_dict(connection, "places", "id", place_id))
            flash("Place added.")
            return redirect(url_for("editors.edit_place", place_id=place_id))
    return render_template("editors/new.html", problems=problems, kinds=KINDS,
                           precisions=PRECISIONS, form=request.form), 400 if problems else 200


def _service_form(form) -> tuple[dict, list[str] | None, list[str]]:
    """The form's service values, its wards (None when the area is not the form's to
    change) and the problems."""
    values, problems = parse_form(form)
    wards = form.getlist("wards") if form.get("area") == "wards" else None
    return values, wards, problems


@bp.route("/places/<int:place_id>/services/new", methods=["GET", "POST"])
@require("editor")
def new_service(place_id: int):
    with db.engine().begin() as connection:
        place = _place_or_404(connection, place_id)
        problems = []
        if request.method == "POST":
            values, wards, problems = _service_form(request.form)
            if not problems:
                service_id = store.save_service(connection, None, place_id, values, wards)
                schedules.refresh(connection, service_id=service_id)
                audit.record(connection, acting_user(), "create", "services", service_id, None,
                             audit.row_as_dict(connection, "services", "id", service_id))
                flash("Service added.")
                return redirect(url_for("editors.edit_service", service_id=service_id))
        ward_list = store.wards(connection)
    return render_template("editors/service.html", place=place, service=None,
                           wards=ward_list, problems=problems,
                           form=request.form), 400 if problems else 200


@bp.route("/services/<uuid:service_id>", methods=["GET", "POST"])
@require("editor")
def edit_service(service_id):
    service_id = str(service_id)
    with db.engine().begin() as connection:
        service = store.service(connection, service_id)
        if service is None:
            abort(404, description="There is no service with that id.")
        problems = []
        if request.method == "POST":
            values, wards, problems = _service_form(request.form)
            if not problems:
                def change():
                    store.save_service(connection, service_id, service["place_id"], values,
                                       wards)
                    schedules.refresh(connection, service_id=service_id)

                audit.changed(connection, acting_user(), "update", "services", service_id,
                              change)
                flash("Saved.")
                return redirect(url_for("editors.edit_service", service_id=service_id))
        place = (store.place(connection, service["place_id"])
                 if service["place_id"] is not None else None)
        ward_list = store.wards(connection)
    return render_template("editors/service.html", place=place, service=service,
                           wards=ward_list, problems=problems,
                           form=request.form), 400 if problems else 200


@bp.post("/services/<uuid:service_id>/remove")
@require("editor")
def remove_service(service_id):
    return _set_service_removed(str(service_id), True)


@bp.post("/services/<uuid:service_id>/restore")
@require("editor")
def restore_service(service_id):
    return _set_service_removed(str(service_id), False)


def _set_service_removed(service_id: str, removed: bool):
    def change():
        store.set_service_removed(connection, service_id, removed)
        schedules.refresh(connection)

    with db.engine().begin() as connection:
        if not audit.changed(connection, acting_user(), "remove" if removed else "restore",
                             "services", service_id, change):
            abort(404, description="There is no service with that id.")
    flash("Removed from the public map." if removed else "Shown on the public map again.")
    return redirect(url_for("editors.edit_service", service_id=service_id))


@bp.post("/reports/<int:report_id>/resolve")
@require("editor")
def resolve_report(report_id: int):
    with db.engine().begin() as connection:
        before = audit.row_as_dict(connection, "listing_reports", "id", report_id)
        if before is None:
            abort(404, description="There is no report with that number.")
        store.resolve_report(connection, report_id, acting_user().id)
        audit.record(connection, acting_user(), "resolve", "listing_reports", report_id, before,
                     audit.row_as_dict(connection, "listing_reports", "id", report_id))
    flash("Report marked as dealt with.")
    return redirect(url_for("editors.dashboard"))
