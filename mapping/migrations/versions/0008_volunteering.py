""""I'm in": volunteering opportunities, the initiatives they belong to, and what each
initiative achieved (outcomes), with the views every public output reads.

- **initiatives**: Out and About, MENtors and the others, each with the residents it is for
  (a population band of the LSOA figures: the bands are 0-15, 16-59 and 60 and over).
- **opportunities**: a way to give back, at a place or run by an organisation (then at the
  organisation's place). Its contacts are published: only public ones are stored. It leaves
  the public map by itself the day after it closes (`leaves_on`), and a one-off the day
  after it happens.
- **outcomes**: what an initiative achieved over a period, at a place, in a ward or across
  the district. Aggregates only: nothing here names a volunteer or a beneficiary, and the
  notes field is never published.

`published_opportunities` reads `published_places` (0006): an opportunity at a deleted
place is gone and one at an area-level group is at the group's public point.
`published_outcomes` suppresses every count of people from 1 to 4 (`assetmap_suppressed`)
and a before-and-after score measured on fewer than 5 people.
`published_lsoa_need` is need against provision per LSOA (docs/measures.md).
`published_version` is the data version the feeds send as ETags: the stored version and
the number of opportunities that have closed, so ETags and caches change at midnight
when one closes, with no write.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION assetmap_london_today() RETURNS date LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (now() AT TIME ZONE 'Europe/London')::date
$$;

-- Counts of people from 1 to 4 are not published (0 is: it identifies nobody).
CREATE FUNCTION assetmap_suppressed(n integer) RETURNS integer LANGUAGE sql IMMUTABLE
    PARALLEL SAFE AS $$
    SELECT CASE WHEN n BETWEEN 1 AND 4 THEN NULL ELSE n END
$$;

CREATE TABLE initiatives (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
    description text,
    -- Who it is for, in words, and the population band that counts them.
    target_group text NOT NULL CHECK (btrim(target_group) <> ''),
    target_band text NOT NULL DEFAULT 'all'
        CHECK (target_band IN ('all', '0_15', '16_59', '60_plus')),
    website text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO initiatives (id, name, description, target_group, target_band) VALUES
('out-and-about', 'Out and About',
 'Volunteers help older people who are lonely or isolated to get out and about: to a '
 'group, a walk, the shops or a cup of tea.',
 'Older residents (aged 60 and over)', '60_plus'),
('mentors', 'MENtors',
 'Older men mentor young men: an hour a week of listening, advice and doing things together.',
 'Young men (the population figures count residents aged 16 to 59, men and women)',
 '16_59');

CREATE TABLE opportunities (
    id uuid PRIMARY KEY,
    source text NOT NULL CHECK (btrim(source) <> ''),
    source_id text NOT NULL CHECK (btrim(source_id) <> ''),
    place_id bigint REFERENCES places(id) ON DELETE CASCADE,
    organisation_id uuid REFERENCES organisations(id) ON DELETE SET NULL,
    initiative_id text REFERENCES initiatives(id) ON UPDATE CASCADE ON DELETE SET NULL,
    title text NOT NULL CHECK (btrim(title) <> ''),
    description text,
    commitment text NOT NULL DEFAULT 'flexible'
        CHECK (commitment IN ('one-off', 'regular', 'flexible')),
    hours_per_week numeric(4, 1) CHECK (hours_per_week > 0 AND hours_per_week <= 80),
    schedule_text text,
    days text[] NOT NULL DEFAULT '{}'
        CHECK (days <@ ARRAY['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']),
    starts_on date,
    closes_on date,
    minimum_age integer CHECK (minimum_age BETWEEN 0 AND 130),
    dbs_check boolean NOT NULL DEFAULT false,
    skills text[] NOT NULL DEFAULT '{}',
    accessibility text,
    -- How to say "I'm in": published, so public contacts only.
    apply_url text,
    apply_email text,
    apply_phone text,
    -- The first day it is no longer shown.
    leaves_on date GENERATED ALWAYS AS (
        least(closes_on + 1, CASE WHEN commitment = 'one-off' THEN starts_on + 1 END)) STORED,
    import_run_id bigint REFERENCES import_runs(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (source, source_id),
    CHECK (place_id IS NOT NULL OR organisation_id IS NOT NULL),
    CHECK (apply_url IS NOT NULL OR apply_email IS NOT NULL OR apply_phone IS NOT NULL)
);
CREATE INDEX opportunities_place_idx ON opportunities (place_id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_leaves_idx ON opportunities (leaves_on) WHERE deleted_at IS NULL;

CREATE TABLE outcomes (
    id bigserial PRIMARY KEY,
    initiative_id text NOT NULL REFERENCES initiatives(id) ON UPDATE CASCADE,
    period_start date NOT NULL,
    period_end date NOT NULL,
    -- At a place, for a whole ward, or (neither) across the district.
    place_id bigint REFERENCES places(id) ON DELETE CASCADE,
    ward_code text,
    people_supported integer CHECK (people_supported >= 0),
    sessions_held integer CHECK (sessions_held >= 0),
    volunteers integer CHECK (volunteers >= 0),
    volunteer_hours numeric(9, 1) CHECK (volunteer_hours >= 0),
    -- A measured change: the scale, which way is better, how many people were measured
    -- both before and after, and their mean scores.
    measure text,
    better text CHECK (better IN ('lower', 'higher')),
    measured_people integer CHECK (measured_people >= 1),
    score_before numeric(7, 2),
    score_after numeric(7, 2),
    notes text,                     -- for editors only: never published
    recorded_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CHECK (period_start <= period_end),
    CHECK (place_id IS NULL OR ward_code IS NULL),
    CHECK ((score_before IS NULL) = (score_after IS NULL)),
    CHECK (score_before IS NULL OR (measure IS NOT NULL AND better IS NOT NULL
                                    AND measured_people IS NOT NULL))
);
CREATE UNIQUE INDEX outcomes_one_per_period ON outcomes
    (initiative_id, period_start, period_end, coalesce(place_id, 0), coalesce(ward_code, ''))
    WHERE deleted_at IS NULL;

CREATE VIEW published_opportunities AS
SELECT o.id, o.title, o.description, o.commitment, o.hours_per_week, o.schedule_text, o.days,
       o.starts_on, o.closes_on, o.minimum_age, o.dbs_check, o.skills, o.accessibility,
       o.apply_url, o.apply_email, o.apply_phone, o.initiative_id, i.name AS initiative_name,
       coalesce(org.id, p.organisation_uuid) AS organisation_id,
       coalesce(org.name, ca.operator, p.name) AS organisation_name,
       p.id AS place_id, p.name AS place_name, p.kind AS place_kind, p.location_precision,
       p.ward_code, p.lsoa_code, p.neighbourhood_codes, p.geom, p.geom_bng,
       greatest(o.updated_at, p.updated_at) AS updated_at
  FROM opportunities o
  LEFT JOIN organisations org ON org.id = o.organisation_id AND org.deleted_at IS NULL
  JOIN published_places p ON p.id = coalesce(o.place_id, org.place_id)
  LEFT JOIN community_assets ca ON ca.place_id = p.id
  LEFT JOIN initiatives i ON i.id = o.initiative_id
 WHERE o.deleted_at IS NULL
   AND (o.leaves_on IS NULL OR o.leaves_on > assetmap_london_today());

CREATE VIEW published_outcomes AS
SELECT o.id, o.initiative_id, i.name AS initiative_name, o.period_start, o.period_end,
       o.place_id, p.name AS place_name,
       coalesce(p.ward_code, o.ward_code) AS ward_code, w.name AS ward_name,
       CASE WHEN o.place_id IS NOT NULL THEN 'place' WHEN o.ward_code IS NOT NULL THEN 'ward'
            ELSE 'district' END AS level,
       assetmap_suppressed(o.people_supported) AS people_supported,
       o.people_supported BETWEEN 1 AND 4 AS people_supported_suppressed,
       o.sessions_held, o.volunteer_hours,
       assetmap_suppressed(o.volunteers) AS volunteers,
       o.volunteers BETWEEN 1 AND 4 AS volunteers_suppressed,
       o.measure, o.better,
       CASE WHEN o.measured_people >= 5 THEN o.measured_people END AS measured_people,
       CASE WHEN o.measured_people >= 5 THEN o.score_before END AS score_before,
       CASE WHEN o.measured_people >= 5 THEN o.score_after END AS score_after,
       o.measured_people < 5 AS scores_suppressed,
       o.updated_at
  FROM outcomes o JOIN initiatives i ON i.id = o.initiative_id
  LEFT JOIN published_places p ON p.id = o.place_id
  LEFT JOIN areas w ON w.kind = 'ward' AND w.code = coalesce(p.ward_code, o.ward_code)
 WHERE o.deleted_at IS NULL AND (o.place_id IS NULL OR p.id IS NOT NULL);

-- Need against provision per LSOA: one row for everyone and one for each initiative's
-- target group. Residents are spread evenly over the LSOA (as the ward profiles do), so
-- the residents "covered" are the LSOA's residents times the share of its area within
-- walking distance (800 m) of an open opportunity (of the initiative, for its rows).
-- score = residents not covered x (11 - IMD decile) / 10: decile 1, the most deprived
-- tenth of England, weighs 1.0; decile 10 weighs 0.1. docs/measures.md explains it.
CREATE VIEW published_lsoa_need AS
WITH groups AS (
    SELECT 'everyone'::text AS measure, NULL::text AS initiative_id,
           'All residents'::text AS target_group, 'all'::text AS target_band
    UNION ALL
    SELECT id, id, target_group, target_band FROM initiatives
), lsoas AS (
    SELECT l.code, l.name, l.population, l.population_0_15, l.population_16_59,
           l.population_60_plus, l.imd_rank, l.imd_decile, l.geom, l.geom_bng,
           ST_Area(l.geom_bng) AS area_m2, l.updated_at,
           (SELECT ap.code FROM area_parts ap
             WHERE ap.kind = 'ward' AND ST_Intersects(ap.geom, ST_PointOnSurface(l.geom))
             LIMIT 1) AS ward_code,
           (SELECT count(*) FROM published_places p
             WHERE ST_DWithin(p.geom_bng, l.geom_bng, 800)) AS places_within
      FROM areas l WHERE l.kind = 'lsoa'
), rows AS (
    SELECT l.*, g.measure, g.initiative_id, g.target_group,
           CASE g.target_band WHEN 'all' THEN l.population WHEN '0_15' THEN l.population_0_15
                WHEN '16_59' THEN l.population_16_59 WHEN '60_plus' THEN l.population_60_plus
           END AS target_residents,
           r.opportunities, r.reach
      FROM lsoas l CROSS JOIN groups g
      LEFT JOIN LATERAL (
           SELECT count(*) AS opportunities,
                  ST_Union(ST_Buffer(o.geom_bng, 800, 16)) AS reach
             FROM published_opportunities o
            WHERE ST_DWithin(o.geom_bng, l.geom_bng, 800)
              AND (g.initiative_id IS NULL OR o.initiative_id = g.initiative_id)) r ON true
), shares AS (
    SELECT r.*, CASE WHEN r.reach IS NULL OR r.area_m2 = 0 THEN 0::float8
                     ELSE least(1.0, ST_Area(ST_Intersection(r.geom_bng, r.reach)) / r.area_m2)
                END AS covered_share
      FROM rows r
)
SELECT s.code || ':' || s.measure AS id, s.code AS lsoa_code, s.name AS lsoa_name,
       s.ward_code, w.name AS ward_name, s.measure, s.initiative_id, s.target_group,
       s.population, s.population_0_15, s.population_16_59, s.population_60_plus,
       s.imd_rank, s.imd_decile, s.target_residents, s.places_within,
       s.opportunities AS opportunities_within,
       round(s.covered_share::numeric, 4) AS covered_share,
       round(s.target_residents * (1 - s.covered_share)) AS residents_not_covered,
       round(((11 - s.imd_decile) / 10.0)::numeric, 1) AS deprivation_weight,
       round(s.target_residents * (1 - s.covered_share) * (11 - s.imd_decile) / 10.0)
           AS need_score,
       s.geom, s.geom_bng, s.updated_at
  FROM shares s LEFT JOIN areas w ON w.kind = 'ward' AND w.code = s.ward_code;

-- What feeds send as their version: the stored one, and how many opportunities have
-- closed by today (London), which rises at midnight with no write.
CREATE VIEW published_version AS
SELECT d.version * 1000000 + c.closed AS version,
       greatest(d.changed_at, c.last_closed) AS changed_at
  FROM data_version d CROSS JOIN (
       SELECT count(*) AS closed,
              max(leaves_on)::timestamp AT TIME ZONE 'Europe/London' AS last_closed
         FROM opportunities
        WHERE deleted_at IS NULL AND leaves_on <= assetmap_london_today()) c;
"""

DOWNGRADE = r"""
DROP VIEW IF EXISTS published_version;
DROP VIEW IF EXISTS published_lsoa_need;
DROP VIEW IF EXISTS published_outcomes;
DROP VIEW IF EXISTS published_opportunities;
DROP TABLE IF EXISTS outcomes;
DROP TABLE IF EXISTS opportunities;
DROP TABLE IF EXISTS initiatives;
DROP FUNCTION IF EXISTS assetmap_suppressed(integer);
DROP FUNCTION IF EXISTS assetmap_london_today();
"""

VERSIONED_TABLES = ("initiatives", "opportunities", "outcomes")


def _version_triggers() -> str:
    statements = []
    for table in VERSIONED_TABLES:
        for event, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            statements.append(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {transition} TABLE AS changed_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION assetmap_bump_data_version();")
        statements.append(
            f"CREATE TRIGGER {table}_version_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION assetmap_bump_data_version();")
    return "\n".join(statements)


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(_version_triggers())


def downgrade() -> None:
    op.execute(DOWNGRADE)
