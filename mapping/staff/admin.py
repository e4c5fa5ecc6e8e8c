"""Pages for administrators: users and their roles, API tokens, the audit trail, and
whether postcode search has its postcodes."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from mapping import postcode_search
from mapping.core import db
from mapping.staff import accounts, audit, store
from mapping.staff.auth import acting_user, require

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@require("admin")
def users():
    with db.engine().connect() as connection:
        rows = store.list_users(connection)
        tokens = store.active_tokens(connection)
        postcodes = postcode_search.status(connection)
    return render_template("admin/users.html", users=rows, tokens=tokens, roles=accounts.ROLES,
                           new_token=None, postcodes=postcodes)


@bp.post("/users")
@require("admin")
def add_user():
    try:
        with db.engine().begin() as connection:
            user = accounts.add_user(connection, request.form.get("email", ""),
                                     request.form.get("password", ""),
                                     request.form.get("role", ""), request.form.get("name") or None)
            audit.record(connection, acting_user(), "create", "users", user.id, None,
                         audit.row_as_dict(connection, "users", "id", user.id))
    except accounts.AccountError as error:
        flash(f"Not added: {error}.")
        return redirect(url_for("admin.users")), 303
    flash(f"Added {user.email} as {user.role}.")
    return redirect(url_for("admin.users")), 303


@bp.post("/users/<int:user_id>")
@require("admin")
def change_user(user_id: int):
    role = request.form.get("role")
    active = request.form.get("active")
    with db.engine().begin() as connection:
        before = audit.row_as_dict(connection, "users", "id", user_id)
        if before is None:
            abort(404, description="There is no such user.")
        if role is not None and role not in accounts.ROLES:
            abort(400, description=f"role must be one of {', '.join(accounts.ROLES)}")
        if user_id == acting_user().id and (active == "no" or role == "editor"):
            abort(400, description="You cannot remove your own admin rights.")
        store.change_user(connection, user_id, role=role, active=active)
        audit.record(connection, acting_user(), "update", "users", user_id, before,
                     audit.row_as_dict(connection, "users", "id", user_id))
    flash("Saved.")
    return redirect(url_for("admin.users")), 303


@bp.post("/users/<int:user_id>/tokens")
@require("admin")
def create_token(user_id: int):
    name = (request.form.get("name") or "").strip() or "API token"
    with db.engine().begin() as connection:
        if accounts.get_user(connection, user_id) is None:
            abort(404, description="There is no such user.")
        token = accounts.create_token(connection, user_id, name)
        audit.record(connection, acting_user(), "create token", "users", user_id, None,
                     {"token_name": name})
    # Shown once, never stored: the page says so.
    return render_template("admin/token.html", token=token, name=name), 201


@bp.post("/tokens/<int:token_id>/revoke")
@require("admin")
def revoke_token(token_id: int):
    with db.engine().begin() as connection:
        before = audit.row_as_dict(connection, "api_tokens", "id", token_id)
        if before is None or not accounts.revoke_token(connection, token_id):
            abort(404, description="There is no such active token.")
        audit.record(connection, acting_user(), "revoke token", "api_tokens", token_id, before,
                     audit.row_as_dict(connection, "api_tokens", "id", token_id))
    flash("Token revoked.")
    return redirect(url_for("admin.users")), 303


@bp.get("/audit")
@require("admin")
def audit_log():
    with db.engine().connect() as connection:
        entries = audit.latest(connection)
    return render_template("admin/audit.html", entries=entries)
