"""Browser libraries served by the app itself from the npm packages `make install` puts in
node_modules/ (package.json pins them): no CDN, and no third-party code in the repository.
A non-editable install serves the copy its build took of them (setup.py); built without
them, the app refuses to start (`check_installed`).

Only each package's `dist/` folder is reachable, under a URL that carries the installed
version, so browsers may keep the files for a year. Text files go out gzipped (Leaflet is
a third of the resident map's first load otherwise).
"""
from __future__ import annotations

import gzip
import json
import mimetypes
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_file, url_for
from werkzeug.security import safe_join

from mapping.core.config import PROJECT_ROOT, SHIPPED, checkout_folder

bp = Blueprint("assets", __name__)

NODE_MODULES = checkout_folder("node_modules")
# URL name → the npm package and the folder of it that browsers may load.
PACKAGES = {
    "leaflet": ("leaflet", "dist"),
    "markercluster": ("leaflet.markercluster", "dist"),
}
ONE_YEAR = 365 * 24 * 3600
COMPRESSIBLE = (".js", ".css", ".map", ".svg")


class AssetsMissing(RuntimeError):
    """node_modules/ has not been installed: `make install` runs `npm ci`."""


def check_installed() -> None:
    """Raise AssetsMissing, in one line that says what to run, unless every library is there."""
    missing = [package for package, _ in PACKAGES.values()
               if not (NODE_MODULES / package / "package.json").is_file()]
    if not missing:
        return
    if SHIPPED.is_dir():
        remedy = ("this installation was built without them: run `npm ci` in the checkout, "
                  "then `pip install .` again")
    else:
        remedy = f"run `npm ci` in {PROJECT_ROOT} (or `make install`)"
    raise AssetsMissing(f"front-end packages are missing ({', '.join(missing)}): {remedy}")


@cache
def installed_version(name: str) -> str:
    package, _ = PACKAGES[name]
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.exists():
        check_installed()
    return json.loads(manifest.read_text())["version"]


@cache
def gzipped(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


@bp.app_template_global()
def vendor_url(name: str, filename: str) -> str:
    """The URL of a file of an installed browser library, e.g. vendor_url('leaflet', 'leaflet.js')."""
    return url_for("assets.vendor", name=name, version=installed_version(name), filename=filename)


@bp.get("/vendor/<name>/<version>/<path:filename>")
def vendor(name: str, version: str, filename: str):
    if name not in PACKAGES or version != installed_version(name):
        abort(404, description="There is no such library file.")
    package, subfolder = PACKAGES[name]
    # safe_join refuses paths that climb out of the package's dist/ folder.
    found = safe_join(str(NODE_MODULES / package / subfolder), filename)
    if found is None or not Path(found).is_file():
        abort(404, description="There is no such library file.")
    path = Path(found)
    if path.suffix in COMPRESSIBLE and "gzip" in request.accept_encodings:
        response = Response(gzipped(path), mimetype=mimetypes.guess_type(path.name)[0])
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(path, conditional=False)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["Vary"] = "Accept-Encoding"
    return response
