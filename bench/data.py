"""Synthetic places inside the real Kirklees wards, clustered around town centres.

Seven in ten places fall near a town centre (a Gaussian of about 1 km), the rest anywhere
in the district, so a 2 km box in a town holds far more than one on the moors, as in
real life. Each place has one category, drawn with realistic weights.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from importers.demo import WARDS

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
WARDS_FILE = SHARED / "kirklees" / "wards-2013.geojson"

CATEGORIES = [
    ("community centre", 14), ("sports club", 16), ("faith group", 10), ("library", 3),
    ("food bank", 4), ("loneliness support", 6), ("mentoring", 4), ("young people", 10),
    ("music", 5), ("gardening", 6), ("volunteering", 12), ("older people", 10),
]

# The centre of Huddersfield: a busy 2 km box for the bbox query.
BUSY_BBOX = (-1.7985, 53.6365, -1.7685, 53.6545)
NEAREST_POINT = (-1.7850, 53.6458)


def wards() -> list[dict]:
    if not WARDS_FILE.exists():
        raise SystemExit(f"the benchmarks need the real ward boundaries at {WARDS_FILE}")
    features = json.loads(WARDS_FILE.read_text())["features"]
    return [{"code": f["properties"]["WD13CD"], "name": f["properties"]["WD13NM"],
             "geom": shape(f["geometry"])} for f in features]


def points(count: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """`count` points (lon, lat arrays) inside the real wards."""
    rng = np.random.default_rng(seed)
    district = shapely.union_all([w["geom"] for w in wards()])
    shapely.prepare(district)
    minx, miny, maxx, maxy = district.bounds
    centres = np.array([(lon, lat) for _, lon, lat, _ in WARDS])
    lon_out, lat_out = [], []
    have = 0
    while have < count:
        batch = max(1000, int((count - have) * 1.6))
        clustered = rng.random(batch) < 0.7
        which = rng.integers(0, len(centres), batch)
        lon = np.where(clustered, centres[which, 0] + rng.normal(0, 0.015, batch),
                       rng.uniform(minx, maxx, batch))
        lat = np.where(clustered, centres[which, 1] + rng.normal(0, 0.009, batch),
                       rng.uniform(miny, maxy, batch))
        inside = shapely.contains_xy(district, lon, lat)
        lon_out.append(lon[inside])
        lat_out.append(lat[inside])
        have += int(inside.sum())
    return (np.round(np.concatenate(lon_out)[:count], 6),
            np.round(np.concatenate(lat_out)[:count], 6))


def write_csv(path: Path, count: int, seed: int = 7) -> Path:
    """A CSV of `count` community assets, as a council spreadsheet would hold them."""
    if path.exists():
        return path
    lon, lat = points(count, seed)
    rng = np.random.default_rng(seed + 1)
    names = [c for c, _ in CATEGORIES]
    weights = np.array([w for _, w in CATEGORIES], dtype=float)
    picks = rng.choice(len(names), size=count, p=weights / weights.sum())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "category", "description", "latitude", "longitude"])
        for index in range(count):
            category = names[picks[index]]
            writer.writerow([f"B{index:07d}", f"{category.title()} {index}", category,
                             f"A {category} in Kirklees (synthetic benchmark place).",
                             f"{lat[index]:.6f}", f"{lon[index]:.6f}"])
    return path

# The properties every server is asked to publish, so responses carry the same fields.
SERVED_PROPERTIES = ["name", "kind", "categories", "description", "address", "postcode",
                     "website", "opening_hours", "accessibility", "last_verified",
                     "location_precision", "ward_code", "neighbourhood_codes", "updated_at"]
