"""Open Referral UK at 10,000 services: `/openreferral/services` and
`/openreferral/service_at_locations?postcode=`, on the 10,000-place dataset.

Each of the 10,000 places stands for one service, as in a real directory before its
services are entered; 1,000 of them get a service of their own instead, with a service
area of their ward and the wards beside it, so the postcode search has areas to test.
The Kirklees postcodes (data/) are loaded for the postcode to be found.

    python -m bench.openreferral     (also run by `make bench`)
"""
from __future__ import annotations

import json
import sys

from sqlalchemy import create_engine, text

from bench import load, measure, servers
from mapping.core.config import PROJECT_ROOT, Settings

SIZE = 10_000
WITH_AREAS = 1_000
POSTCODES = PROJECT_ROOT / "data" / "codepoint-open-kirklees-2025-05.csv"
# Huddersfield town centre: inside many of the services' areas.
POSTCODE = "HD1 2TG"
QUERIES = {
    "oruk services": "/openreferral/services?per_page=50",
    "oruk services filtered": "/openreferral/services?day=TU&minimum_age=16&per_page=50",
    "oruk locations by postcode": "/openreferral/service_at_locations?postcode=HD1%202TG"
                                  "&per_page=50",
    "oruk locations by postcode and proximity":
        "/openreferral/service_at_locations?postcode=HD1%202TG&proximity=1000&per_page=50",
}


def prepare(url: str) -> dict:
    """Postcodes, and the 1,000 services with areas, once; returns what the database holds."""
    engine = create_engine(url)
    with engine.connect() as connection:
        postcodes = connection.execute(text("SELECT count(*) FROM postcodes")).scalar()
    if not postcodes:
        load.assetmap("postcodes", str(POSTCODES), url=url)
    with engine.begin() as connection:
        if not connection.execute(text(
                "SELECT count(*) FROM services WHERE source = 'bench'")).scalar():
            connection.execute(text("""
                INSERT INTO services (id, source, source_id, place_id, name, description,
                                      minimum_age, languages, schedule_text)
                SELECT assetmap_uuid('service:bench:' || p.id), 'bench', p.id::text, p.id,
                       p.name || ' drop-in', 'Advice and company, no appointment needed.',
                       16, '{en,ur}', 'Tuesdays 10:00-12:00; Thursdays 13:00-15:00'
                  FROM (SELECT id, name FROM places WHERE deleted_at IS NULL
                         ORDER BY id LIMIT :n) p"""), {"n": WITH_AREAS})
            connection.execute(text("""
                INSERT INTO service_areas (id, service_id, name, area_kind, area_codes, geom)
                SELECT assetmap_uuid('service_area:' || s.id), s.id, w.name, 'ward',
                       array_agg(n.code ORDER BY n.code), ST_Multi(ST_Union(n.geom))
                  FROM services s JOIN places p ON p.id = s.place_id
                  JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
                  JOIN areas n ON n.kind = 'ward' AND ST_DWithin(n.geom_bng, w.geom_bng, 10)
                 WHERE s.source = 'bench' GROUP BY s.id, w.name"""))
            from importers import schedules

            schedules.refresh(connection)
            connection.execute(text("ANALYZE"))
    with engine.connect() as connection:
        counts = dict(connection.execute(text("""
            SELECT 'services', count(*) FROM published_services
            UNION ALL SELECT 'service areas', count(*) FROM published_service_areas
            UNION ALL SELECT 'postcodes', count(*) FROM postcodes""")).all())
    engine.dispose()
    return counts


def run(server_url: str, workdir, duration: int, connections: int) -> list[dict]:
    url, _ = load.build(server_url, SIZE, workdir)
    counts = prepare(url)
    rows = []
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    server = servers.start_ours(url, 1, workdir / "logs")
    try:
        for query, path in QUERIES.items():
            target = server.base + path
            row = {"server": "this app", "workers": 1, "size": SIZE, "query": query,
                   "services": counts["services"], "service_areas": counts["service areas"]}
            try:
                _status, body = measure.fetch(target)
                document = json.loads(body)
                row["total_items"] = document["total_items"]
                row["bytes"] = len(body)
                row.update(vars(measure.wrk(target, connections, duration)))
                row["p50_one_connection_ms"] = measure.one_connection_p50(target)
            except Exception as error:  # noqa: BLE001 - reported, not hidden
                row["failed"] = str(error)[:300]
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        server.stop()
    return rows


def main() -> None:
    from bench.__main__ import RESULTS

    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = run(Settings.from_env().resolved_database_url(), RESULTS, 8, 16)
    (RESULTS / "openreferral.json").write_text(json.dumps(rows, indent=1))
    sys.exit(1 if any("failed" in r for r in rows) else 0)


if __name__ == "__main__":
    main()
