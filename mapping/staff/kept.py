"""Uploaded files kept between a dry run and the real import, so an editor does not
choose the file again. Each is kept under a random token in its own directory below
VAR_DIR/uploads, with who uploaded it; only that user can use it, for KEEP_SECONDS.
Older ones are removed whenever a file is kept or looked up."""
from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

KEEP_SECONDS = 2 * 60 * 60
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
ABOUT = "about.json"


@dataclass(frozen=True)
class Kept:
    token: str
    path: Path      # the file, under the name it was uploaded with (made safe)
    name: str


def _root(var_dir: Path) -> Path:
    return Path(var_dir) / "uploads"


def keep(var_dir: Path, path: Path, name: str, user_id: int | None) -> Kept:
    """Move the uploaded file at `path` into a new kept directory; its token."""
    remove_old(var_dir)
    token = secrets.token_urlsafe(24)
    directory = _root(var_dir) / token
    directory.mkdir(parents=True, mode=0o700)
    kept = directory / name
    shutil.move(str(path), kept)
    (directory / ABOUT).write_text(json.dumps({"user_id": user_id, "name": name}))
    return Kept(token, kept, name)


def find(var_dir: Path, token: str | None, user_id: int | None) -> Kept | None:
    """The file kept under `token` for this user, if it is still there."""
    remove_old(var_dir)
    if not token or not TOKEN.fullmatch(token):
        return None
    directory = _root(var_dir) / token
    try:
        about = json.loads((directory / ABOUT).read_text())
    except (OSError, ValueError):
        return None
    path = directory / about.get("name", "")
    if about.get("user_id") != user_id or not path.is_file() or path.parent != directory:
        return None
    return Kept(token, path, about["name"])


def discard(kept: Kept) -> None:
    shutil.rmtree(kept.path.parent, ignore_errors=True)


def remove_old(var_dir: Path, now: float | None = None) -> int:
    """Remove the kept files older than KEEP_SECONDS; how many were removed."""
    root = _root(var_dir)
    if not root.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - KEEP_SECONDS
    removed = 0
    for directory in root.iterdir():
        try:
            if directory.is_dir() and directory.stat().st_mtime < cutoff:
                shutil.rmtree(directory, ignore_errors=True)
                removed += 1
        except FileNotFoundError:  # another worker removed it first
            continue
    return removed
