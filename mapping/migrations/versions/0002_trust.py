"""Trust: users with roles, hashed API tokens, the audit trail, residents' reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND position('@' IN email) > 1),
    name text,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('editor', 'admin')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    actor text NOT NULL,
    action text NOT NULL,
    table_name text NOT NULL,
    record_id text,
    before jsonb,
    after jsonb
);
CREATE INDEX audit_log_record_idx ON audit_log (table_name, record_id);

CREATE TABLE listing_reports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_id bigint NOT NULL REFERENCES places (id) ON DELETE CASCADE,
    reason text NOT NULL CHECK (reason IN ('closed', 'details', 'location', 'inappropriate', 'other')),
    details text CHECK (length(details) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX listing_reports_open_idx ON listing_reports (created_at) WHERE resolved_at IS NULL;
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS listing_reports, audit_log, api_tokens, users;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
