"""Signing in and out, and the checks every write endpoint makes.

Browsers sign in with a session cookie and every form carries a CSRF token
(Flask-WTF); scripts send `Authorization: Bearer <token>` and need no CSRF token
because they carry no cookie. Roles: `editor` edits places and imports; `admin` also
manages users, sources and boundaries.
"""
from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from mapping.core import db
from mapping.core.errors import ApiError
from mapping.staff import accounts

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


def init_app(app) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."

    @app.before_request
    def check_csrf():
        # Every state-changing browser request must carry the form's CSRF token.
        # A request that matches no route gets its 404 or 405 (with Allow), not a CSRF error.
        if (request.method in ("POST", "PUT", "PATCH", "DELETE") and not _bearer_token()
                and request.routing_exception is None
                and app.config.get("WTF_CSRF_ENABLED", True)):
            csrf.protect()


@login_manager.user_loader
def load_user(user_id: str):
    with db.engine().begin() as connection:
        return accounts.get_user(connection, int(user_id))


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return None


def acting_user():
    """The signed-in user, or the owner of a valid API token, or None."""
    if "acting_user" in g:
        return g.acting_user
    token = _bearer_token()
    user = None
    if token:
        with db.engine().begin() as connection:
            user = accounts.user_for_token(connection, token)
    elif current_user.is_authenticated:
        user = current_user
    g.acting_user = user
    return user


def require(role: str):
    """Allow the view only to active users with `role` (admins may do anything)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = acting_user()
            api = request.path.startswith("/api/")
            if user is None:
                if api:
                    raise ApiError(401, "Sign in or send an API token.", title="Unauthorized")
                return login_manager.unauthorized()
            if not user.can(role):
                if api:
                    raise ApiError(403, f"This needs the {role} role.", title="Forbidden")
                abort(403, description=f"This page needs the {role} role.")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a signed-in user to another site.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("editors.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        with db.engine().begin() as connection:
            user = accounts.authenticate(connection, request.form.get("email", ""),
                                         request.form.get("password", ""))
        if user is None:
            error = "The e-mail address or password is not right."
        else:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("residents.index"))
