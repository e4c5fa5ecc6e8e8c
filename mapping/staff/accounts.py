"""People who may change the data: users with a role, their passwords and API tokens.

Passwords are hashed with Argon2 (argon2-cffi); API tokens are random and only their
SHA-256 is stored, so a leaked database gives away neither.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text

ROLES = ("editor", "admin")
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """A request about accounts that cannot be met; the message says why."""


@dataclass
class User:
    id: int
    email: str
    name: str | None
    role: str
    active: bool

    # Flask-Login's protocol.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    def can(self, role: str) -> bool:
        return self.active and (self.role == "admin" or self.role == role)


def _user(row) -> User | None:
    if row is None:
        return None
    return User(id=row.id, email=row.email, name=row.name, role=row.role, active=row.active)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def add_user(connection, email: str, password: str, role: str, name: str | None = None) -> User:
    email = email.strip().lower()
    if "@" not in email[1:]:
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    exists = connection.execute(text("SELECT 1 FROM users WHERE email = :e"), {"e": email}).first()
    if exists:
        raise AccountError(f"there is already a user {email}")
    row = connection.execute(text(
        "INSERT INTO users (email, name, password_hash, role) VALUES (:e, :n, :h, :r) "
        "RETURNING id, email, name, role, active"),
        {"e": email, "n": name, "h": hash_password(password), "r": role}).first()
    return _user(row)


def get_user(connection, user_id: int) -> User | None:
    return _user(connection.execute(text(
        "SELECT id, email, name, role, active FROM users WHERE id = :id"), {"id": user_id}).first())


def user_id(connection, email: str) -> int | None:
    """The id of the user with this e-mail address (any case), active or not."""
    return connection.execute(text("SELECT id FROM users WHERE email = :e"),
                              {"e": email.strip().lower()}).scalar()


def authenticate(connection, email: str, password: str) -> User | None:
    """The user with these credentials, or None (the same answer for any failure)."""
    row = connection.execute(text(
        "SELECT id, email, name, role, active, password_hash FROM users WHERE email = :e"),
        {"e": (email or "").strip().lower()}).first()
    if row is None:
        # Spend the same time as a real check, so timing does not reveal who has an account.
        _hasher.hash(password or "x")
        return None
    try:
        _hasher.verify(row.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if not row.active:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        connection.execute(text("UPDATE users SET password_hash = :h WHERE id = :id"),
                           {"h": _hasher.hash(password), "id": row.id})
    connection.execute(text("UPDATE users SET last_login_at = now() WHERE id = :id"), {"id": row.id})
    return _user(row)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(connection, user_id: int, name: str) -> str:
    """A new API token for the user; the token itself is returned once and never stored."""
    token = "am_" + secrets.token_urlsafe(32)
    connection.execute(text(
        "INSERT INTO api_tokens (user_id, name, token_hash) VALUES (:u, :n, :h)"),
        {"u": user_id, "n": name, "h": _token_digest(token)})
    return token


def user_for_token(connection, token: str) -> User | None:
    row = connection.execute(text(
        "UPDATE api_tokens t SET last_used_at = now() FROM users u "
        "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.id = t.user_id AND u.active "
        "RETURNING u.id, u.email, u.name, u.role, u.active"), {"h": _token_digest(token)}).first()
    return _user(row)


def revoke_token(connection, token_id: int) -> bool:
    return connection.execute(text(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"),
        {"id": token_id}).rowcount == 1


def list_users(connection) -> list:
    """Every user, with how many live API tokens each has, by e-mail address."""
    return connection.execute(text(
        "SELECT u.id, u.email, u.name, u.role, u.active, u.last_login_at, "
        "count(t.id) FILTER (WHERE t.revoked_at IS NULL) AS tokens "
        "FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id GROUP BY u.id ORDER BY u.email"
    )).mappings().all()


def active_tokens(connection) -> list:
    """The API tokens not revoked, oldest first, with their users' addresses."""
    return connection.execute(text(
        "SELECT t.id, t.name, u.email, t.created_at, t.last_used_at FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.revoked_at IS NULL ORDER BY t.created_at"
    )).mappings().all()


def change_user(connection, user_id: int, *, role: str | None, active: str | None) -> None:
    """A new role (None: unchanged) and `active` "yes" or "no" (anything else: unchanged)."""
    connection.execute(text(
        "UPDATE users SET role = coalesce(:role, role), "
        "active = CASE :active WHEN 'yes' THEN true WHEN 'no' THEN false ELSE active END "
        "WHERE id = :id"), {"role": role, "active": active, "id": user_id})
