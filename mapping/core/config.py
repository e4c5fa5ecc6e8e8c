"""Settings read once from environment variables, with documented defaults.

Every setting is listed in docs/deploying.md; tests/test_docs.py fails when one is not.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import psycopg
from sqlalchemy import event
from sqlalchemy.pool import Pool

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Where a non-editable install carries the checkout's templates/, static/ and the served
# parts of node_modules/ (setup.py copies them in at build time).
SHIPPED = Path(__file__).resolve().parents[1] / "_shipped"

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"

# The one PostgreSQL driver the app uses (psycopg 3), whatever a pasted URL names.
DRIVER = "postgresql+psycopg"
POSTGRESQL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def _bind_parameters_client_side(dbapi_connection, _record) -> None:
    # psycopg 3 binds parameters on the server, typed from their Python values (3 is a
    # smallint there, so generate_series(-:n, :n) is ambiguous; a lone string has no
    # type). The SQL here was written for values merged in as literals, as psycopg2 did
    # and psycopg 3's ClientCursor does.
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = psycopg.ClientCursor


event.listen(Pool, "connect", _bind_parameters_client_side)


def checkout_folder(name: str) -> Path:
    """A top-level folder of the checkout (templates, static, node_modules), or its copy
    inside the installed package when there is no checkout beside it."""
    return SHIPPED / name if SHIPPED.is_dir() else PROJECT_ROOT / name


class DatabaseUrlError(ValueError):
    """A database URL that is not PostgreSQL's; the message says what is accepted."""


def database_url(url: str, name: str = "DATABASE_URL") -> str:
    """`url` with psycopg 3 as its driver: postgresql://, postgres:// (Heroku's) and
    postgresql+psycopg2:// are all read as PostgreSQL. Anything else is refused."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        # Never echo the URL itself: it usually carries a password.
        raise DatabaseUrlError(
            f"{name} is not a database URL; give one like "
            "postgresql://user:password@host:5432/assetmap") from error
    if parsed.drivername.lower() not in POSTGRESQL_SCHEMES:
        raise DatabaseUrlError(
            f"{name} names {parsed.drivername}://, but the app needs PostgreSQL with PostGIS: "
            "give a URL like postgresql://user:password@host:5432/assetmap")
    return parsed.set(drivername=DRIVER).render_as_string(hide_password=False)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _parse(name: str, raw: str, kind: str):
    if kind == "bool":
        return raw.lower() in ("1", "true", "yes")
    if kind == "Path":
        return Path(raw)
    if kind in ("int", "float"):
        try:
            return int(raw) if kind == "int" else float(raw)
        except ValueError:
            what = "a whole number" if kind == "int" else "a number"
            raise ValueError(f"{name}={raw!r} is not {what}") from None
    return raw


@dataclass(frozen=True)
class Settings:
    """What the app, the CLI and the importers need to know about their surroundings: each
    setting with its default and (`env`) the environment variable that sets it."""

    # None means "use the embedded cluster under var/".
    database_url: str | None = field(default=None, metadata={"env": "DATABASE_URL"})
    # Read-only queries go here when set (a streaming replica).
    database_replica_url: str | None = field(default=None, metadata={"env": "DATABASE_REPLICA_URL"})
    var_dir: Path = field(default=PROJECT_ROOT / "var", metadata={"env": "ASSETMAP_VAR_DIR"})
    embedded_port: int = field(default=54329, metadata={"env": "ASSETMAP_EMBEDDED_PORT"})
    statement_timeout_ms: int = field(default=15000, metadata={"env": "STATEMENT_TIMEOUT_MS"})
    pool_size: int = field(default=5, metadata={"env": "DB_POOL_SIZE"})
    pool_timeout_s: float = field(default=5.0, metadata={"env": "DB_POOL_TIMEOUT_S"})
    secret_key: str = field(default="dev-only-not-secret", metadata={"env": "SECRET_KEY"})
    basemap_url: str = field(default=OSM_TILES, metadata={"env": "BASEMAP_URL"})
    basemap_attribution: str = field(default=OSM_ATTRIBUTION,
                                     metadata={"env": "BASEMAP_ATTRIBUTION"})
    # How far beyond the wards the district reaches: places and postcodes further out are
    # left out of imports (see docs/importing.md).
    district_margin_m: float = field(default=2000.0, metadata={"env": "DISTRICT_MARGIN_M"})
    # A geometry with more vertices than this is refused on import (see docs/importing.md).
    import_max_vertices: int = field(default=1_000_000, metadata={"env": "IMPORT_MAX_VERTICES"})
    data_licence: str = field(default="Open Government Licence v3.0",
                              metadata={"env": "DATA_LICENCE"})
    data_attribution: str = field(default="Kirklees Council community asset map",
                                  metadata={"env": "DATA_ATTRIBUTION"})
    # Who may frame our pages (the printable ward maps are made for embedding).
    frame_ancestors: str = field(default="'self'", metadata={"env": "FRAME_ANCESTORS"})
    # How many reverse proxies sit in front (for the client address and https).
    proxy_count: int = field(default=0, metadata={"env": "PROXY_COUNT"})
    upload_max_mb: int = field(default=50, metadata={"env": "UPLOAD_MAX_MB"})
    secure_cookies: bool = field(default=False, metadata={"env": "SECURE_COOKIES"})
    ratelimit_storage_uri: str = field(default="memory://",
                                       metadata={"env": "RATELIMIT_STORAGE_URI"})
    rate_limit_search: str = field(default="120 per minute", metadata={"env": "RATE_LIMIT_SEARCH"})
    rate_limit_reports: str = field(default="5 per hour", metadata={"env": "RATE_LIMIT_REPORTS"})
    rate_limit_login: str = field(default="10 per minute", metadata={"env": "RATE_LIMIT_LOGIN"})
    # Editors see listings not verified for this long first.
    stale_after_days: int = field(default=365, metadata={"env": "STALE_AFTER_DAYS"})
    lock_timeout_ms: int = field(default=3000, metadata={"env": "LOCK_TIMEOUT_MS"})
    # A feed's bbox may cover at most this much ground (see docs/api.md).
    max_bbox_area_km2: float = field(default=10_000_000.0, metadata={"env": "MAX_BBOX_AREA_KM2"})
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Each setting from its environment variable (empty or unset: the default)."""
        values = {}
        for setting in fields(cls):
            name = setting.metadata.get("env")
            raw = _env(name) if name else None
            if raw is not None:
                values[setting.name] = _parse(name, raw, setting.type)
        return cls(**values)

    def with_overrides(self, overrides: dict | None) -> Settings:
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        chosen = {k: v for k, v in overrides.items() if k in known}
        extra = {k: v for k, v in overrides.items() if k not in known}
        return replace(self, **chosen, extra={**self.extra, **extra})

    def resolved_database_url(self) -> str:
        """The URL to connect to, starting the embedded cluster when none is configured."""
        if self.database_url:
            return database_url(self.database_url)
        from mapping.core import embedded

        return embedded.ensure_running(self.var_dir, self.embedded_port)

    def resolved_replica_url(self) -> str | None:
        if not self.database_replica_url:
            return None
        return database_url(self.database_replica_url, "DATABASE_REPLICA_URL")


# The environment variables the settings read, for the docs test.
ENVIRONMENT_VARIABLES = tuple(f.metadata["env"] for f in fields(Settings) if "env" in f.metadata)
