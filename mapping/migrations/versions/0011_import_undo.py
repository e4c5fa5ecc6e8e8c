"""Undoing an import: the rows each run rewrote, as they were before it.

An import's merge updates places in one set-based statement, so the before-image is kept
by the database itself: whenever a place is written by an import run it did not come
from (`import_run_id` changes), the old row and its kind's detail row are copied into
`import_run_rows` once per run. Dry and failed runs roll back, and their copies with them.
Places a run inserted need no copy: they are the run's rows that have none. An undo
(SET LOCAL assetmap.undoing = 'on') puts rows back without copying them again, and sets
`undone_at` and `undone_by` on the run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE import_run_rows (
    run_id bigint NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
    table_name text NOT NULL,
    record_id text NOT NULL,
    before jsonb,  -- NULL: there was no such row (a detail row the run added)
    PRIMARY KEY (run_id, table_name, record_id)
);

ALTER TABLE import_runs ADD COLUMN undone_at timestamptz, ADD COLUMN undone_by text;

CREATE FUNCTION assetmap_keep_before_image() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO import_run_rows (run_id, table_name, record_id, before)
    VALUES (NEW.import_run_id, 'places', OLD.id::text, to_jsonb(OLD) - 'geom_bng')
    ON CONFLICT DO NOTHING;
    -- The merge writes the detail row after the place, so here it is still the old one.
    INSERT INTO import_run_rows (run_id, table_name, record_id, before)
    SELECT NEW.import_run_id, d.table_name, OLD.id::text, d.before
      FROM (VALUES
        ('community_assets', (SELECT to_jsonb(t) FROM community_assets t WHERE t.place_id = OLD.id)),
        ('transferred_buildings', (SELECT to_jsonb(t) FROM transferred_buildings t WHERE t.place_id = OLD.id)),
        ('mutual_aid_groups', (SELECT to_jsonb(t) FROM mutual_aid_groups t WHERE t.place_id = OLD.id)),
        ('hubs', (SELECT to_jsonb(t) FROM hubs t WHERE t.place_id = OLD.id))
      ) AS d (table_name, before)
     WHERE d.table_name = CASE OLD.kind WHEN 'community_asset' THEN 'community_assets'
                                        WHEN 'transferred_building' THEN 'transferred_buildings'
                                        WHEN 'mutual_aid_group' THEN 'mutual_aid_groups'
                                        WHEN 'hub' THEN 'hubs' END
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;

CREATE TRIGGER places_before_image BEFORE UPDATE ON places FOR EACH ROW
    WHEN (NEW.import_run_id IS NOT NULL AND NEW.import_run_id IS DISTINCT FROM OLD.import_run_id
          AND current_setting('assetmap.undoing', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION assetmap_keep_before_image();
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS places_before_image ON places;
DROP FUNCTION IF EXISTS assetmap_keep_before_image();
ALTER TABLE import_runs DROP COLUMN IF EXISTS undone_at, DROP COLUMN IF EXISTS undone_by;
DROP TABLE IF EXISTS import_run_rows;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
