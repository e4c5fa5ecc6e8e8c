"""Names the council gives its areas, kept apart from the boundaries.

Priority neighbourhoods are derived from deprivation and named for where they are; a
council may know one by another name ("Dewsbury Moor"). A name here wins over the
derived one, and stays when the neighbourhoods are derived again or a boundary file is
loaded again: it belongs to the code, not to the geometry.

Postcodes get a spatial index: a ward's gaps are named by the nearest postcode.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE area_names (
    kind text NOT NULL CHECK (kind IN ('ward', 'neighbourhood', 'lsoa')),
    code text NOT NULL,
    name text NOT NULL CHECK (length(btrim(name)) > 0),
    -- The name it replaced (from the boundary file or derived), restored when it goes.
    replaced_name text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, code)
)""")
    op.execute("CREATE INDEX postcodes_geom_bng_idx ON postcodes USING gist (geom_bng)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS postcodes_geom_bng_idx")
    op.execute("DROP TABLE IF EXISTS area_names")
