"""Public location: where each place may be shown, kept apart from where it really is.

A place whose location precision is "area" (a mutual aid group run from volunteers'
homes) must never be published at the point it was imported with: not on the map, in a
feed, a tile, a download, nor through a distance. `public_geom` holds what may be
published: the place's own geometry when its precision is exact or street; for an
area-level place, its coverage area if it has one, else a point on the surface of its
priority neighbourhood or, failing that, its ward, else its position rounded to a
2 km grid. Every public read uses `public_geom` (and its metric twin for distances).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE places ADD COLUMN public_geom geometry(Geometry, 4326);
ALTER TABLE places ADD COLUMN public_geom_bng geometry(Geometry, 27700)
    GENERATED ALWAYS AS (ST_Transform(public_geom, 27700)) STORED;

CREATE FUNCTION assetmap_public_geom(place_id bigint, geom geometry, loc_precision text)
RETURNS geometry LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN loc_precision <> 'area' THEN geom ELSE coalesce(
        (SELECT m.coverage FROM mutual_aid_groups m WHERE m.place_id = $1),
        (SELECT ST_PointOnSurface(a.geom) FROM areas a
          WHERE a.kind = 'neighbourhood' AND ST_Intersects(a.geom, ST_PointOnSurface($2))
          ORDER BY a.code LIMIT 1),
        (SELECT ST_PointOnSurface(a.geom) FROM areas a
          WHERE a.kind = 'ward' AND ST_Intersects(a.geom, ST_PointOnSurface($2))
          ORDER BY a.code LIMIT 1),
        ST_Transform(ST_SnapToGrid(ST_Centroid(ST_Transform($2, 27700)), 2000, 2000), 4326))
    END
$$;

CREATE FUNCTION assetmap_set_public_geom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.location_precision = 'area' THEN
        NEW.public_geom := assetmap_public_geom(NEW.id, NEW.geom, NEW.location_precision);
    ELSE
        NEW.public_geom := NEW.geom;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER places_public_geom_insert BEFORE INSERT ON places
    FOR EACH ROW EXECUTE FUNCTION assetmap_set_public_geom();
CREATE TRIGGER places_public_geom_update BEFORE UPDATE OF geom, location_precision ON places
    FOR EACH ROW EXECUTE FUNCTION assetmap_set_public_geom();

-- A group's coverage arrives after its place row: publish the coverage once it does.
CREATE FUNCTION assetmap_coverage_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE places p
       SET public_geom = assetmap_public_geom(p.id, p.geom, p.location_precision)
     WHERE p.id = NEW.place_id AND p.location_precision = 'area'
       AND p.public_geom IS DISTINCT FROM assetmap_public_geom(p.id, p.geom, p.location_precision);
    RETURN NULL;
END $$;
CREATE TRIGGER mutual_aid_groups_coverage AFTER INSERT OR UPDATE OF coverage ON mutual_aid_groups
    FOR EACH ROW EXECUTE FUNCTION assetmap_coverage_changed();

UPDATE places SET public_geom = assetmap_public_geom(id, geom, location_precision);
ALTER TABLE places ALTER COLUMN public_geom SET NOT NULL;
CREATE INDEX places_public_geom_idx ON places USING gist (public_geom) WHERE deleted_at IS NULL;
CREATE INDEX places_public_geom_bng_idx ON places USING gist (public_geom_bng)
    WHERE deleted_at IS NULL;

-- Boundaries move area-level places' public location too: assign_areas refreshes it.
CREATE OR REPLACE FUNCTION assetmap_assign_areas(only_run bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    WITH assigned AS (
        SELECT p.id,
            (SELECT min(ap.code) FROM area_parts ap
              WHERE ap.kind = 'ward' AND ST_Intersects(ap.geom, ST_PointOnSurface(p.geom))) AS ward_code,
            (SELECT min(ap.code) FROM area_parts ap
              WHERE ap.kind = 'lsoa' AND ST_Intersects(ap.geom, ST_PointOnSurface(p.geom))) AS lsoa_code,
            ARRAY(SELECT DISTINCT ap.code FROM area_parts ap
                   WHERE ap.kind = 'neighbourhood' AND ST_Intersects(ap.geom, p.geom)
                   ORDER BY ap.code) AS neighbourhood_codes
        FROM places p
        WHERE only_run IS NULL OR p.import_run_id = only_run
    )
    UPDATE places p
       SET ward_code = a.ward_code, lsoa_code = a.lsoa_code,
           neighbourhood_codes = a.neighbourhood_codes
      FROM assigned a
     WHERE p.id = a.id
       AND (p.ward_code IS DISTINCT FROM a.ward_code
            OR p.lsoa_code IS DISTINCT FROM a.lsoa_code
            OR p.neighbourhood_codes IS DISTINCT FROM a.neighbourhood_codes);
    GET DIAGNOSTICS changed = ROW_COUNT;

    UPDATE places p
       SET public_geom = assetmap_public_geom(p.id, p.geom, p.location_precision)
     WHERE p.location_precision = 'area'
       AND (only_run IS NULL OR p.import_run_id = only_run)
       AND NOT ST_Equals(p.public_geom, assetmap_public_geom(p.id, p.geom, p.location_precision));
    RETURN changed;
END $$;
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS mutual_aid_groups_coverage ON mutual_aid_groups;
DROP TRIGGER IF EXISTS places_public_geom_insert ON places;
DROP TRIGGER IF EXISTS places_public_geom_update ON places;
DROP FUNCTION IF EXISTS assetmap_coverage_changed();
DROP FUNCTION IF EXISTS assetmap_set_public_geom();
ALTER TABLE places DROP COLUMN IF EXISTS public_geom_bng;
ALTER TABLE places DROP COLUMN IF EXISTS public_geom;
DROP FUNCTION IF EXISTS assetmap_public_geom(bigint, geometry, text);
CREATE OR REPLACE FUNCTION assetmap_assign_areas(only_run bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    WITH assigned AS (
        SELECT p.id,
            (SELECT min(ap.code) FROM area_parts ap
              WHERE ap.kind = 'ward' AND ST_Intersects(ap.geom, ST_PointOnSurface(p.geom))) AS ward_code,
            (SELECT min(ap.code) FROM area_parts ap
              WHERE ap.kind = 'lsoa' AND ST_Intersects(ap.geom, ST_PointOnSurface(p.geom))) AS lsoa_code,
            ARRAY(SELECT DISTINCT ap.code FROM area_parts ap
                   WHERE ap.kind = 'neighbourhood' AND ST_Intersects(ap.geom, p.geom)
                   ORDER BY ap.code) AS neighbourhood_codes
        FROM places p
        WHERE only_run IS NULL OR p.import_run_id = only_run
    ), changed AS (
        UPDATE places p
           SET ward_code = a.ward_code, lsoa_code = a.lsoa_code,
               neighbourhood_codes = a.neighbourhood_codes
          FROM assigned a
         WHERE p.id = a.id
           AND (p.ward_code IS DISTINCT FROM a.ward_code
                OR p.lsoa_code IS DISTINCT FROM a.lsoa_code
                OR p.neighbourhood_codes IS DISTINCT FROM a.neighbourhood_codes)
        RETURNING 1
    )
    SELECT count(*) FROM changed
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
