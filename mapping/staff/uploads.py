"""Importing through the web: the upload form for editors and POST /api/import for
scripts with an API token. Both run exactly the importer the command line runs, with its
report and dry run, and record the run in the audit trail."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.utils import secure_filename

from importers import demo
from importers.base import Options
from importers.opportunities import import_opportunities
from importers.places import import_places
from importers.services import import_services
from layers.kinds import BY_COMMAND
from mapping.core import db
from mapping.core.errors import ApiError
from mapping.staff import audit
from mapping.staff.auth import acting_user, require

bp = Blueprint("uploads", __name__)

# The import commands, as the form offers them: {command: what the file holds}.
KINDS = {**{kind.command: kind.plural for kind in BY_COMMAND.values()},
         "services": "services offered at places or across areas",
         "opportunities": "volunteering opportunities"}
# The importers that are not a kind of place.
LOADERS = {"services": import_services, "opportunities": import_opportunities}
EXTENSIONS = {".csv", ".txt", ".tsv", ".json", ".geojson", ".zip", ".gpkg"}


class UploadError(ValueError):
    """The upload cannot be imported; the message names the field and why."""


def _run(form, upload):
    kind = form.get("kind")
    if kind not in KINDS:
        raise UploadError(f"kind: choose one of {', '.join(KINDS)}")
    if upload is None or not upload.filename:
        raise UploadError("file: choose a file to upload")
    name = secure_filename(upload.filename) or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UploadError(f"file: {suffix or 'no extension'} files are not accepted "
                          f"({', '.join(sorted(EXTENSIONS))})")
    precision = form.get("precision") or None
    if precision not in (None, "exact", "street", "area"):
        raise UploadError("precision: choose exact, street or area")
    user = acting_user()
    settings = current_app.extensions["assetmap.settings"]
    options = Options.from_settings(
        settings, source=(form.get("source") or "").strip() or None,
        dry_run=form.get("dry_run") in ("on", "true", "1"),
        skip_invalid=form.get("skip_invalid") in ("on", "true", "1"),
        keep_outside=form.get("keep_outside") in ("on", "true", "1"),
        precision=precision, run_by=user.email)
    with tempfile.TemporaryDirectory(prefix="assetmap-upload-") as directory:
        path = Path(directory) / name
        upload.save(path)
        if kind in LOADERS:
            report = LOADERS[kind](db.engine(), path, options)
        else:
            report = import_places(db.engine(), kind, path, options)
    if report.status == "committed":
        with db.engine().connect() as connection:
            if note := demo.remaining_note(connection):
                report.notes.append(note)
        with db.engine().begin() as connection:
            audit.record(connection, user, "import", "import_runs", report.run_id, None,
                         {"file": name, "kind": kind, "source": report.source,
                          "counts": report.counts, "invalid": report.invalid})
    return report


@bp.route("/edit/import", methods=["GET", "POST"])
@require("editor")
def upload_form():
    report, problems = None, []
    if request.method == "POST":
        try:
            report = _run(request.form, request.files.get("file"))
        except UploadError as error:
            problems = [str(error)]
    status = 400 if problems else (422 if report is not None and not report.ok else 200)
    margin_m = current_app.extensions["assetmap.settings"].district_margin_m
    return render_template("editors/import.html", kinds=KINDS, report=report,
                           problems=problems, form=request.form, margin_m=margin_m), status


@bp.post("/api/import")
@require("editor")
def upload_api():
    try:
        report = _run(request.form, request.files.get("file"))
    except UploadError as error:
        field = str(error).split(":", 1)[0]
        raise ApiError(400, str(error), parameter=field) from None
    response = jsonify(report.as_dict())
    response.status_code = 200 if report.ok else 422
    return response
