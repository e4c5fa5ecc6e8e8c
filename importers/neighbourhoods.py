"""Priority neighbourhoods derived from deprivation: the most deprived LSOAs (IMD deciles,
1 = the most deprived 10% in England), with neighbours that touch merged into one area.

Clustering is ST_ClusterDBSCAN on the British National Grid twin with a distance of
0 m, so LSOAs sharing any boundary point join. Each area is named for where it is, after
the wards that hold a fifth of it or more ("Dewsbury West and Batley East priority
neighbourhood"), and coded after its first LSOA ("PN-E01011004"), which stays the same
while that LSOA stays in it; a name the council gives a code (`assetmap neighbourhoods
names FILE`) wins. The result replaces every neighbourhood, as a boundary file would,
and every place is reassigned.
"""
from __future__ import annotations

import math
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


# A ward is named in a neighbourhood's name when it holds at least this share of it (the
# largest is always named), at most NAMED_WARDS of them, largest first.
NAMED_SHARE = 0.2
NAMED_WARDS = 3
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
           "north-west")


def join_names(names: list[str]) -> str:
    """["A"] → "A"; ["A", "B", "C"] → "A, B and C"; a name with "and" in it is kept whole:
    ["Heckmondwike", "Liversedge and Gomersal"] → "Heckmondwike / Liversedge and Gomersal"."""
    if len(names) == 1:
        return names[0]
    if any(" and " in name for name in names):
        return " / ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def compass(dx: float, dy: float) -> str:
    """The eight-point compass direction of a step east dx and north dy."""
    bearing = math.degrees(math.atan2(dx, dy)) % 360
    return COMPASS[round(bearing / 45) % 8]


def neighbourhood_names(clusters: list[dict]) -> dict[str, str]:
    """Names for derived neighbourhoods, by code, after where they are.

    Each cluster has `code`, `wards` (names with the share of the cluster each holds,
    largest first) and `dx`, `dy` (metres from the centre of its largest ward to its own
    centre). The name is the wards holding at least NAMED_SHARE of it, so a neighbourhood
    that spreads over three wards is not named after one of them. Neighbourhoods that would
    share a name are told apart by where each lies in that ward ("north", "south-west"),
    then by number."""
    base = {}
    for cluster in clusters:
        wards = cluster["wards"]
        named = [name for name, share in wards if share >= NAMED_SHARE][:NAMED_WARDS]
        base[cluster["code"]] = join_names(named or [wards[0][0]]) if wards else cluster["code"]
    names = {}
    for name in set(base.values()):
        same = sorted((c for c in clusters if base[c["code"]] == name), key=lambda c: c["code"])
        if len(same) == 1:
            names[same[0]["code"]] = f"{name} priority neighbourhood"
            continue
        directions = [compass(c["dx"], c["dy"]) for c in same]
        distinct = len(set(directions)) == len(directions)
        for number, (cluster, direction) in enumerate(zip(same, directions), start=1):
            qualifier = direction if distinct else str(number)
            names[cluster["code"]] = f"{name} ({qualifier}) priority neighbourhood"
    return names


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
        staged = connection.execute(text(f"""
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
                SELECT min(code) AS first_code, ST_Union(geom, 1e-6) AS geom
                  FROM deprived GROUP BY cluster
            )
            SELECT row_number() OVER (ORDER BY first_code), true, 'PN-' || first_code,
                   'PN-' || first_code, geom
              FROM clusters"""), {"eps": self.tolerance_m, "low": self.low,
                                  "high": self.high}).rowcount
        self._name(connection)
        return staged

    def _name(self, connection) -> None:
        clusters = [dict(row) for row in connection.execute(text(f"""
            WITH parts AS (
                SELECT s.code, w.name, w.geom_bng AS ward,
                       ST_Area(ST_Intersection(w.geom_bng, ST_Transform(s.geom, 27700)))
                       / ST_Area(ST_Transform(s.geom, 27700)) AS share,
                       ST_Centroid(ST_Transform(s.geom, 27700)) AS centre
                  FROM {STAGE} s JOIN areas w
                    ON w.kind = 'ward' AND ST_Intersects(w.geom, s.geom)
            )
            SELECT code, array_agg(name ORDER BY share DESC, name) AS names,
                   array_agg(share ORDER BY share DESC, name) AS shares,
                   (array_agg(ST_X(centre) - ST_X(ST_Centroid(ward))
                              ORDER BY share DESC, name))[1] AS dx,
                   (array_agg(ST_Y(centre) - ST_Y(ST_Centroid(ward))
                              ORDER BY share DESC, name))[1] AS dy
              FROM parts WHERE share > 0.001 GROUP BY code""")).mappings()]
        for cluster in clusters:
            cluster["wards"] = list(zip(cluster.pop("names"), cluster.pop("shares")))
        for code, name in neighbourhood_names(clusters).items():
            connection.execute(text(f"UPDATE {STAGE} SET name = :name WHERE code = :code"),
                               {"name": name, "code": code})


def derive_from_imd(engine, deciles: str = "1-2", options: Options | None = None,
                    tolerance_m: float = 0.0):
    """Replace the priority neighbourhoods with merged LSOAs in the given IMD deciles."""
    return ImdNeighbourhoods(engine, deciles, options, tolerance_m).run()
