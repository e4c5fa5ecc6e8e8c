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

from mapping.staff import store

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
    if store.user_exists(connection, email):
        raise AccountError(f"there is already a user {email}")
    return _user(store.insert_user(connection, email, name, hash_password(password), role))


def get_user(connection, user_id: int) -> User | None:
    return _user(store.user(connection, user_id))


def user_id(connection, email: str) -> int | None:
    """The id of the user with this e-mail address (any case), active or not."""
    return store.user_id(connection, email.strip().lower())


def authenticate(connection, email: str, password: str) -> User | None:
    """The user with these credentials, or None (the same answer for any failure)."""
    row = store.user_with_password(connection, (email or "").strip().lower())
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
    rehashed = _hasher.hash(password) if _hasher.check_needs_rehash(row.password_hash) else None
    store.signed_in(connection, row.id, rehashed)
    return _user(row)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(connection, user_id: int, name: str) -> str:
    """A new API token for the user; the token itself is returned once and never stored."""
    token = "am_" + secrets.token_urlsafe(32)
    store.insert_token(connection, user_id, name, _token_digest(token))
    return token


def user_for_token(connection, token: str) -> User | None:
    return _user(store.use_token(connection, _token_digest(token)))


def revoke_token(connection, token_id: int) -> bool:
    return store.revoke_token(connection, token_id)

