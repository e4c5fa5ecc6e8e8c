"""Importing through the web: the upload form for editors, POST /api/import for scripts
with an API token, and each import run's page, from which a run of places can be undone.
Both run exactly the importer the command line runs, with its report and dry run, and
every attempt (refused uploads too) is recorded in the audit trail.

On the form a dry run always works out what the good rows would do, and keeps the file
(mapping/staff/kept.py) so that the real import, of the whole file or of just its good
rows, needs no second upload."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.utils import secure_filename

from importers import demo
from importers.base import Options
from importers.opportunities import import_opportunities
from importers.places import import_places
from importers.report import from_dict
from importers.services import import_services
from layers.kinds import BY_COMMAND
from mapping.core import db
from mapping.core.errors import ApiError
from mapping.staff import audit, kept, runs
from mapping.staff.auth import acting_user, require
from mapping.staff.wording import CONTROLS, CRS_CHOICES, for_form, web_report

bp = Blueprint("uploads", __name__)
bp.add_app_template_global(for_form, "for_form")

# The import commands, as the form offers them: {command: what the file holds}.
KINDS = {**{kind.command: kind.plural for kind in BY_COMMAND.values()},
         "services": "services offered at places or across areas",
         "opportunities": "volunteering opportunities"}
# The importers that are not a kind of place.
LOADERS = {"services": import_services, "opportunities": import_opportunities}
EXTENSIONS = {".csv", ".txt", ".tsv", ".json", ".geojson", ".zip", ".gpkg"}
# The form's settings that a kept file's follow-up form carries over.
CARRIED = ("kind", "source", "precision", "crs", "keep_outside", "prune")


class UploadError(ValueError):
    """The upload cannot be imported; the message names the field and why."""


def _ticked(form, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def _settings():
    return current_app.extensions["assetmap.settings"]


def _kind(form) -> str:
    kind = form.get("kind")
    if kind not in KINDS:
        raise UploadError(f"kind: choose one of {', '.join(KINDS)}")
    return kind


def _file_name(upload) -> str:
    if upload is None or not upload.filename:
        raise UploadError("file: choose a file to upload")
    name = secure_filename(upload.filename) or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UploadError(f"file: {suffix or 'no extension'} files are not accepted "
                          f"({', '.join(sorted(EXTENSIONS))})")
    return name


def _options(form, user, *, count_good_rows: bool) -> Options:
    precision = form.get("precision") or None
    if precision not in (None, "exact", "street", "area"):
        raise UploadError("precision: choose exact, street or area")
    crs = form.get("crs") or None
    if crs is not None and crs not in CRS_CHOICES:
        raise UploadError(f"crs: choose one of {', '.join(c for c in CRS_CHOICES if c)}")
    dry_run = _ticked(form, "dry_run")
    return Options.from_settings(
        _settings(), source=(form.get("source") or "").strip() or None, dry_run=dry_run,
        skip_invalid=_ticked(form, "skip_invalid") or (dry_run and count_good_rows),
        keep_outside=_ticked(form, "keep_outside"), prune=_ticked(form, "prune"),
        precision=precision, crs=int(crs.split(":")[1]) if crs else None, run_by=user.email)


def _import(kind: str, path: Path, options: Options):
    if kind in LOADERS:
        report = LOADERS[kind](db.engine(), path, options)
    else:
        report = import_places(db.engine(), kind, path, options)
    if report.status == "committed":
        with db.engine().connect() as connection:
            if note := demo.remaining_note(connection):
                report.notes.append(note)
    return report


def _audit(user, report, *, name, kind, via, asked_skip=None, reason=None) -> None:
    with db.engine().begin() as connection:
        audit.record_import(connection, user, report, file_name=name, kind=kind, via=via,
                            reason=reason, skip_invalid=asked_skip)


def _run_form(form, files):
    """The form's import: of a new upload, or of the file kept from the last run. Returns
    (report, the kept file to offer again or None)."""
    user = acting_user()
    token = form.get("kept")
    upload = files.get("file")
    name, kind = None, form.get("kind")
    try:
        if token and not (upload and upload.filename):
            found = kept.find(_settings().var_dir, token, user.id)
            if found is None:
                raise UploadError("file: the file kept from your last check has gone (they "
                                  "are kept for two hours) or is not yours; choose it again")
            name = found.name
        else:
            found = None
            name = _file_name(upload)
        kind = _kind(form)
        options = _options(form, user, count_good_rows=True)
    except UploadError as error:
        _audit(user, None, name=name or getattr(upload, "filename", None), kind=kind,
               via="upload form", reason=str(error))
        raise
    if found is not None:
        report = _import(kind, found.path, options)
    else:
        with tempfile.TemporaryDirectory(prefix="assetmap-upload-") as directory:
            path = Path(directory) / name
            upload.save(path)
            report = _import(kind, path, options)
            if report.status != "committed" and not report.fatal:
                found = kept.keep(_settings().var_dir, path, name, user.id)
    asked_skip = _ticked(form, "skip_invalid")
    _audit(user, report, name=name, kind=kind, via="upload form", asked_skip=asked_skip)
    if found is not None and (report.status == "committed" or report.fatal):
        kept.discard(found)
        found = None
    return report, found, asked_skip


@bp.route("/edit/import", methods=["GET", "POST"])
@require("editor")
def upload_form():
    report = found = web = None
    problems = []
    if request.method == "POST":
        try:
            report, found, asked_skip = _run_form(request.form, request.files)
            web = web_report(report, asked_skip=asked_skip)
        except UploadError as error:
            problems = [str(error)]
    status = 400 if problems else (422 if report is not None and not report.ok else 200)
    with db.engine().connect() as connection:
        recent = runs.latest(connection, 10)
    return render_template("editors/import.html", kinds=KINDS, report=report, web=web,
                           kept=found, carried={k: request.form.get(k) for k in CARRIED},
                           problems=problems, form=request.form, controls=CONTROLS,
                           crs_choices=CRS_CHOICES, recent=recent,
                           margin_m=_settings().district_margin_m), status


@bp.post("/api/import")
@require("editor")
def upload_api():
    user = acting_user()
    upload = request.files.get("file")
    name, kind = getattr(upload, "filename", None), request.form.get("kind")
    try:
        name = _file_name(upload)
        kind = _kind(request.form)
        options = _options(request.form, user, count_good_rows=False)
    except UploadError as error:
        _audit(user, None, name=name, kind=kind, via="API", reason=str(error))
        field = str(error).split(":", 1)[0]
        raise ApiError(400, str(error), parameter=field) from None
    with tempfile.TemporaryDirectory(prefix="assetmap-upload-") as directory:
        path = Path(directory) / name
        upload.save(path)
        report = _import(kind, path, options)
    _audit(user, report, name=name, kind=kind, via="API")
    response = jsonify(report.as_dict())
    response.status_code = 200 if report.ok else 422
    return response


@bp.get("/edit/imports/<int:run_id>")
@require("editor")
def run_report(run_id: int):
    with db.engine().connect() as connection:
        record = runs.run(connection, run_id)
        if record is None:
            abort(404, description="There is no such import run.")
        entries = audit.for_record(connection, "import_runs", run_id)
    report = from_dict(record["report"] or {"what": record["kind"], "status": record["status"]},
                       run_id=run_id)
    asked = next((e["after"]["skip_invalid"] for e in entries
                  if e["after"] and "skip_invalid" in e["after"]), None)
    return render_template("editors/import_run.html", run=record, report=report,
                           web=web_report(report, asked_skip=asked), entries=entries,
                           cannot_undo=runs.can_undo(record), conflicts=[], refused=None)


@bp.post("/edit/imports/<int:run_id>/undo")
@require("editor")
def undo_run(run_id: int):
    user = acting_user()
    try:
        with db.engine().begin() as connection:
            undone = runs.undo(connection, run_id, user.email)
            audit.record(connection, user, "undo import", "import_runs", run_id,
                         None, {"removed": undone.removed, "restored": undone.restored})
    except LookupError:
        abort(404, description="There is no such import run.")
    except runs.UndoRefused as refusal:
        with db.engine().begin() as connection:
            audit.record(connection, user, "undo refused", "import_runs", run_id, None,
                         {"reason": str(refusal),
                          "places": [row[0] for row in refusal.conflicts[:runs.SHOWN_CONFLICTS]]})
            record = runs.run(connection, run_id)
            entries = audit.for_record(connection, "import_runs", run_id)
        report = from_dict(record["report"] or {}, run_id=run_id)
        return render_template("editors/import_run.html", run=record, report=report,
                               web=web_report(report), entries=entries,
                               cannot_undo=runs.can_undo(record), refused=str(refusal),
                               conflicts=refusal.conflicts[:runs.SHOWN_CONFLICTS],
                               conflicts_total=len(refusal.conflicts)), 409
    flash(f"Run {run_id} undone: {undone.removed:,} places it added were removed and "
          f"{undone.restored:,} it changed were put back as they were.")
    return redirect(url_for("uploads.run_report", run_id=run_id)), 303
