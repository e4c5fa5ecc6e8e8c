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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where a non-editable install carries the checkout's templates/, static/ and the served
# parts of node_modules/ (setup.py copies them in at build time).
SHIPPED = Path(__file__).resolve().parent / "_shipped"

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


@dataclass(frozen=True)
class Settings:
    """What the app, the CLI and the importers need to know about their surroundings."""

    # None means "use the embedded cluster under var/".
    database_url: str | None = None
    # Read-only queries go here when set (a streaming replica).
    database_replica_url: str | None = None
    var_dir: Path = PROJECT_ROOT / "var"
    embedded_port: int = 54329
    statement_timeout_ms: int = 15000
    pool_size: int = 5
    pool_timeout_s: float = 5.0
    secret_key: str = "dev-only-not-secret"
    basemap_url: str = OSM_TILES
    basemap_attribution: str = OSM_ATTRIBUTION
    # Places further than this outside the wards' union are flagged on import.
    district_margin_m: float = 2000.0
    # A geometry with more vertices than this is refused on import (see docs/importing.md).
    import_max_vertices: int = 1_000_000
    data_licence: str = "Open Government Licence v3.0"
    data_attribution: str = "Kirklees Council community asset map"
    # Who may frame our pages (the printable ward maps are made for embedding).
    frame_ancestors: str = "'self'"
    # How many reverse proxies sit in front (for the client address and https).
    proxy_count: int = 0
    upload_max_mb: int = 50
    secure_cookies: bool = False
    ratelimit_storage_uri: str = "memory://"
    rate_limit_search: str = "120 per minute"
    rate_limit_reports: str = "5 per hour"
    rate_limit_login: str = "10 per minute"
    # Editors see listings not verified for this long first.
    stale_after_days: int = 365
    lock_timeout_ms: int = 3000
    # A feed's bbox may cover at most this much ground (see docs/api.md).
    max_bbox_area_km2: float = 10_000_000.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=_env("DATABASE_URL"),
            database_replica_url=_env("DATABASE_REPLICA_URL"),
            var_dir=Path(_env("ASSETMAP_VAR_DIR", str(PROJECT_ROOT / "var"))),
            embedded_port=int(_env("ASSETMAP_EMBEDDED_PORT", "54329")),
            statement_timeout_ms=int(_env("STATEMENT_TIMEOUT_MS", "15000")),
            pool_size=int(_env("DB_POOL_SIZE", "5")),
            pool_timeout_s=float(_env("DB_POOL_TIMEOUT_S", "5")),
            secret_key=_env("SECRET_KEY", "dev-only-not-secret"),
            basemap_url=_env("BASEMAP_URL", OSM_TILES),
            basemap_attribution=_env("BASEMAP_ATTRIBUTION", OSM_ATTRIBUTION),
            district_margin_m=float(_env("DISTRICT_MARGIN_M", "2000")),
            import_max_vertices=int(_env("IMPORT_MAX_VERTICES", "1000000")),
            data_licence=_env("DATA_LICENCE", "Open Government Licence v3.0"),
            data_attribution=_env("DATA_ATTRIBUTION", "Kirklees Council community asset map"),
            frame_ancestors=_env("FRAME_ANCESTORS", "'self'"),
            proxy_count=int(_env("PROXY_COUNT", "0")),
            upload_max_mb=int(_env("UPLOAD_MAX_MB", "50")),
            secure_cookies=_env("SECURE_COOKIES", "false").lower() in ("1", "true", "yes"),
            ratelimit_storage_uri=_env("RATELIMIT_STORAGE_URI", "memory://"),
            rate_limit_search=_env("RATE_LIMIT_SEARCH", "120 per minute"),
            rate_limit_reports=_env("RATE_LIMIT_REPORTS", "5 per hour"),
            rate_limit_login=_env("RATE_LIMIT_LOGIN", "10 per minute"),
            stale_after_days=int(_env("STALE_AFTER_DAYS", "365")),
            lock_timeout_ms=int(_env("LOCK_TIMEOUT_MS", "3000")),
            max_bbox_area_km2=float(_env("MAX_BBOX_AREA_KM2", "10000000")),
        )

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
        from mapping import embedded

        return embedded.ensure_running(self.var_dir, self.embedded_port)

    def resolved_replica_url(self) -> str | None:
        if not self.database_replica_url:
            return None
        return database_url(self.database_replica_url, "DATABASE_REPLICA_URL")


# The environment variables the settings read, for the docs test.
ENVIRONMENT_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "ASSETMAP_VAR_DIR",
    "ASSETMAP_EMBEDDED_PORT",
    "STATEMENT_TIMEOUT_MS",
    "DB_POOL_SIZE",
    "DB_POOL_TIMEOUT_S",
    "SECRET_KEY",
    "BASEMAP_URL",
    "BASEMAP_ATTRIBUTION",
    "DISTRICT_MARGIN_M",
    "IMPORT_MAX_VERTICES",
    "DATA_LICENCE",
    "DATA_ATTRIBUTION",
    "FRAME_ANCESTORS",
    "PROXY_COUNT",
    "UPLOAD_MAX_MB",
    "SECURE_COOKIES",
    "RATELIMIT_STORAGE_URI",
    "RATE_LIMIT_SEARCH",
    "RATE_LIMIT_REPORTS",
    "RATE_LIMIT_LOGIN",
    "STALE_AFTER_DAYS",
    "LOCK_TIMEOUT_MS",
    "MAX_BBOX_AREA_KM2",
)
