"""Priority neighbourhoods derived from deprivation: the most deprived LSOAs (IMD deciles,
1 = the most deprived 10% in England), with neighbours that touch merged into one area.

Clustering is ST_ClusterDBSCAN on the British National Grid twin with a distance of
0 m, so LSOAs sharing any boundary point join. Each area is named after the ward that
holds most of it ("Dewsbury West priority neighbourhood"; a second one mostly in the
same ward gets " 2") and coded after its first LSOA ("PN-E01011004"), which stays the
same while that LSOA stays in it. The result replaces every neighbourhood, as a
boundary file would, and every place is reassigned.
"""
from __future__ import annotations

import re

from sqlalchemy import text

from importers.base import STAGE, Options
from importers.boundaries import BoundaryImporter


def parse_deciles(spec: str) -> tuple[int, int]:
    """"1-2" → (1, 2); "1" → (1, 1)."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?", spec or "")
    if not match:
        raise ValueError(f"--deciles {spec!r}: write a decile or a range, e.g. 1-2")
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= low <= high <= 10:
        raise ValueError(f"--deciles {spec!r}: deciles run from 1 to 10, low to high")
    return low, high


class ImdNeighbourhoods(BoundaryImporter):
    def __init__(self, engine, deciles: str = "1-2", options: Options | None = None,
                 tolerance_m: float = 0.0):
        self.low, self.high = parse_deciles(deciles)
        self.tolerance_m = tolerance_m
        span = f"{self.low}-{self.high}" if self.high > self.low else f"{self.low}"
        super().__init__(engine, "neighbourhoods", None, options,
                         vintage=f"IMD deciles {span}")
        if not self.options.source:
            self.source_name = self.report.source = f"imd-deciles-{span}"

    def prepare(self, source) -> None:
        self.source = None
        self.report.notes.append(f"LSOAs in IMD deciles {self.low} to {self.high}, touching "
                                 f"neighbours merged")

    def stage_from_database(self, connection) -> int:
        counts = connection.execute(text("""
            SELECT count(*), count(imd_decile) FROM areas WHERE kind = 'lsoa'""")).one()
        if not counts[0]:
            self.report.fail("no LSOAs are loaded: load them first (assetmap boundaries lsoas FILE)")
            return 0
        if not counts[1]:
            self.report.fail("the LSOAs have no deprivation deciles: load them first "
                             "(assetmap deprivation FILE)")
            return 0
        return connection.execute(text(f"""
            INSERT INTO {STAGE} (row_number, valid, code, name, geom)
            WITH deprived AS (
                SELECT code, geom, geom_bng,
                       ST_ClusterDBSCAN(geom_bng, eps := :eps, minpoints := 1) OVER () AS cluster
                  FROM areas
                 WHERE kind = 'lsoa' AND imd_decile BETWEEN :low AND :high
            ), clusters AS (
                -- Unioned on a 0.000001° grid (about 10 cm), the precision every output
                -- writes: neighbouring LSOAs' edges that differ by less leave no sliver
                -- holes, which would become invalid rings once written to 6 decimals.
                SELECT min(code) AS first_code, ST_Union(geom, 1e-6) AS geom,
                       ST_Union(geom_bng) AS geom_bng
                  FROM deprived GROUP BY cluster
            ), named AS (
                SELECT c.*, (SELECT w.name FROM areas w
                              WHERE w.kind = 'ward' AND ST_Intersects(w.geom_bng, c.geom_bng)
                              ORDER BY ST_Area(ST_Intersection(w.geom_bng, c.geom_bng)) DESC,
                                       w.code
                              LIMIT 1) AS ward_name
                  FROM clusters c
            ), numbered AS (
                SELECT n.*, row_number() OVER (PARTITION BY coalesce(ward_name, first_code)
                                               ORDER BY ST_Area(geom_bng) DESC, first_code) AS nth
                  FROM named n
            )
            SELECT row_number() OVER (ORDER BY first_code), true, 'PN-' || first_code,
                   coalesce(ward_name, 'LSOA ' || first_code) || ' priority neighbourhood'
                   || CASE WHEN nth > 1 THEN ' ' || nth ELSE '' END,
                   geom
              FROM numbered"""), {"eps": self.tolerance_m, "low": self.low,
                                  "high": self.high}).rowcount


def derive_from_imd(engine, deciles: str = "1-2", options: Options | None = None,
                    tolerance_m: float = 0.0):
    """Replace the priority neighbourhoods with merged LSOAs in the given IMD deciles."""
    return ImdNeighbourhoods(engine, deciles, options, tolerance_m).run()
