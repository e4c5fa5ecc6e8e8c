"""What the public sees of a place, stated once: the `published_places` view.

Every public read — pages, JSON twins, OGC items, downloads, tiles, nearest, profiles —
reads `published_places`, never `places`. The view applies the rules in one place:
deleted places are gone; an area-level place (a mutual aid group run from volunteers'
homes) has no address and no postcode; a phone or e-mail appears only when the group
chose to publish it; and the geometry is the public location, never the imported one.

An area-level place without a coverage area used to be published at a point on the
surface of its priority neighbourhood. A neighbourhood spans several wards, so groups
from Batley East, Batley West and Dewsbury East stacked on one point in Dewsbury West.
It is now published inside its own ward and LSOA: at a point on the surface of the part
of its LSOA that lies in its ward (an LSOA holds about 1,500 residents, so the point
says no more than the area does).

Each published place layer has one geometry type, a point: `public_point`, a point on
the surface of the public location (a footprint's or coverage area's shape stays in
`shape`, for the place's own page). Coverage and gap figures measure from the same point
the map shows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE OR REPLACE FUNCTION assetmap_public_geom(place_id bigint, geom geometry, loc_precision text)
RETURNS geometry LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN loc_precision <> 'area' THEN geom ELSE coalesce(
        (SELECT m.coverage FROM mutual_aid_groups m WHERE m.place_id = $1),
        (SELECT CASE WHEN NOT ST_IsEmpty(part) THEN ST_PointOnSurface(part) END
           FROM (SELECT ST_CollectionExtract(ST_Intersection(w.geom, l.geom), 3) AS part
                   FROM assetmap_locate_areas(ST_PointOnSurface($2)) h
                   JOIN areas w ON w.kind = 'ward' AND w.code = h.ward_code
                   JOIN areas l ON l.kind = 'lsoa' AND l.code = h.lsoa_code) x),
        (SELECT ST_PointOnSurface(a.geom)
           FROM assetmap_locate_areas(ST_PointOnSurface($2)) h
           JOIN areas a ON a.kind = 'ward' AND a.code = h.ward_code),
        (SELECT ST_PointOnSurface(a.geom)
           FROM assetmap_locate_areas(ST_PointOnSurface($2)) h
           JOIN areas a ON a.kind = 'lsoa' AND a.code = h.lsoa_code),
        ST_Transform(ST_SnapToGrid(ST_Centroid(ST_Transform($2, 27700)), 2000, 2000), 4326))
    END
$$;

ALTER TABLE places ADD COLUMN public_point geometry(Point, 4326)
    GENERATED ALWAYS AS (ST_PointOnSurface(public_geom)) STORED;
ALTER TABLE places ADD COLUMN public_point_bng geometry(Point, 27700)
    GENERATED ALWAYS AS (ST_Transform(ST_PointOnSurface(public_geom), 27700)) STORED;

UPDATE places SET public_geom = assetmap_public_geom(id, geom, location_precision)
 WHERE location_precision = 'area';

DROP INDEX IF EXISTS places_public_geom_idx;
DROP INDEX IF EXISTS places_public_geom_bng_idx;
CREATE INDEX places_public_point_idx ON places USING gist (public_point)
    WHERE deleted_at IS NULL;
CREATE INDEX places_public_point_bng_idx ON places USING gist (public_point_bng)
    WHERE deleted_at IS NULL;

CREATE VIEW published_places AS
SELECT p.id, p.kind, p.name, p.description, p.categories,
       CASE WHEN p.location_precision <> 'area' THEN p.address END AS address,
       CASE WHEN p.location_precision <> 'area' THEN p.postcode END AS postcode,
       p.website,
       CASE WHEN p.phone_public THEN p.phone END AS phone,
       CASE WHEN p.email_public THEN p.email END AS email,
       p.opening_hours, p.accessibility, p.last_verified, p.location_precision,
       p.ward_code, p.lsoa_code, p.neighbourhood_codes, p.created_at, p.updated_at,
       p.public_point AS geom, p.public_point_bng AS geom_bng, p.public_geom AS shape
  FROM places p
 WHERE p.deleted_at IS NULL;
"""

DOWNGRADE = r"""
DROP VIEW IF EXISTS published_places;
DROP INDEX IF EXISTS places_public_point_idx;
DROP INDEX IF EXISTS places_public_point_bng_idx;
ALTER TABLE places DROP COLUMN IF EXISTS public_point_bng;
ALTER TABLE places DROP COLUMN IF EXISTS public_point;
CREATE OR REPLACE FUNCTION assetmap_public_geom(place_id bigint, geom geometry, loc_precision text)
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
UPDATE places SET public_geom = assetmap_public_geom(id, geom, location_precision)
 WHERE location_precision = 'area';
CREATE INDEX places_public_geom_idx ON places USING gist (public_geom) WHERE deleted_at IS NULL;
CREATE INDEX places_public_geom_bng_idx ON places USING gist (public_geom_bng)
    WHERE deleted_at IS NULL;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
