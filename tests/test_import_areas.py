"""Boundaries, deprivation, population and the priority neighbourhoods derived from them,
all from the real Kirklees files."""
from __future__ import annotations

import csv
import json

import pytest
import shapely
from conftest import shared_data
from shapely.geometry import shape
from test_import_helpers import (
    LSOAS,
    WARDS,
    load_wards,
    points_in_kirklees,
    rows,
    run,
    scalar,
    ward_of,
    write_csv,
)

IMD = "kirklees/imd-2019-lsoa.csv"
POPULATION = "kirklees/population-2015-lsoa.csv"


@pytest.fixture
def wards(db, runner):
    return load_wards(runner)


def _published(relative: str) -> list[dict]:
    with open(shared_data(relative), newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _number(cell: str) -> int:
    return int(cell.replace(",", ""))


def _load_lsoas_with_figures(runner):
    for args in (("boundaries", "lsoas", shared_data(LSOAS)), ("deprivation", shared_data(IMD)),
                 ("population", shared_data(POPULATION))):
        result = run(runner, *args)
        assert result.exit_code == 0, result.output
        yield result


def test_the_real_wards_load_with_the_code_and_name_fields_given(db, runner):
    result = run(runner, "boundaries", "wards", shared_data(WARDS), "--code-field", "WD13CD",
                 "--name-field", "WD13NM")
    assert result.exit_code == 0, result.output
    assert "23 inserted, 0 updated, 0 unchanged, 0 removed" in result.output
    features = json.loads(shared_data(WARDS).read_text())["features"]
    assert rows(db, "SELECT code, name, vintage FROM areas WHERE kind = 'ward' ORDER BY code") == \
        sorted((f["properties"]["WD13CD"], f["properties"]["WD13NM"], "2013") for f in features)
    again = run(runner, "boundaries", "wards", shared_data(WARDS), "--code-field", "WD13CD",
                "--name-field", "WD13NM")
    assert "0 inserted, 0 updated, 23 unchanged, 0 removed" in again.output, again.output


def test_a_code_field_that_is_not_there_is_named(db, runner):
    result = run(runner, "boundaries", "wards", shared_data(WARDS), "--code-field", "WD22CD")
    assert result.exit_code == 1
    assert "no code column called 'WD22CD'" in result.output
    assert "WD13CD" in result.output


def test_lsoas_deprivation_and_population_load_from_the_published_files(db, runner):
    boundaries, deprivation, population = _load_lsoas_with_figures(runner)
    assert "259 inserted" in boundaries.output
    # Three real LSOA polygons are invalid as published; they are repaired, not refused.
    assert "3 warnings" in boundaries.output and "ST_MakeValid" in boundaries.output
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'lsoa' AND NOT ST_IsValid(geom)") == 0
    assert "259 updated, 0 unchanged, 0 not loaded" in deprivation.output
    assert "byte order mark" in deprivation.output
    imd = {row["LSOA code (2011)"]: (_number(row["Index of Multiple Deprivation (IMD) Rank"]),
                                     int(row["Index of Multiple Deprivation (IMD) Decile"]))
           for row in _published(IMD)}
    assert {code: (rank, decile) for code, rank, decile in rows(
        db, "SELECT code, imd_rank, imd_decile FROM areas WHERE kind = 'lsoa'")} == imd
    assert any(rank >= 1000 for rank, _ in imd.values())  # "29,199" and the like
    assert "259 updated" in population.output
    people = {row["LSOA code (2011)"]: _number(
        row["Total population: mid 2015 (excluding prisoners)"]) for row in _published(POPULATION)}
    assert dict(rows(db, "SELECT code, population FROM areas WHERE kind = 'lsoa'")) == people
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'lsoa' AND population <> "
                      "population_0_15 + population_16_59 + population_60_plus") == 0
    again = run(runner, "deprivation", shared_data(IMD))
    assert "0 updated, 259 unchanged" in again.output, again.output


def test_ward_populations_are_the_sum_of_their_lsoas(wards, db, runner):
    list(_load_lsoas_with_figures(runner))
    total = sum(_number(row["Total population: mid 2015 (excluding prisoners)"])
                for row in _published(POPULATION))
    assert scalar(db, "SELECT sum(population) FROM areas WHERE kind = 'ward'") == total
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'ward' AND population IS NULL") == 0


def test_deprivation_before_lsoas_says_what_to_load_first(db, runner):
    result = run(runner, "deprivation", shared_data(IMD))
    assert result.exit_code == 1
    assert "no LSOAs are loaded" in result.output
    assert "assetmap boundaries lsoas" in result.output


def _touching_groups(geometries: dict) -> list[set]:
    """Connected groups of geometries that touch or overlap (the truth, from shapely)."""
    codes = list(geometries)
    tree = shapely.STRtree([geometries[c] for c in codes])
    groups, seen = [], set()
    for code in codes:
        if code in seen:
            continue
        group, todo = set(), [code]
        while todo:
            current = todo.pop()
            if current in group:
                continue
            group.add(current)
            for index in tree.query(geometries[current], predicate="intersects"):
                todo.append(codes[index])
        seen |= group
        groups.append(group)
    return groups


def test_priority_neighbourhoods_merge_touching_deprived_lsoas(wards, db, runner):
    list(_load_lsoas_with_figures(runner))
    result = run(runner, "neighbourhoods", "from-imd", "--deciles", "1-2")
    assert result.exit_code == 0, result.output
    deciles = {row["LSOA code (2011)"]: int(row["Index of Multiple Deprivation (IMD) Decile"])
               for row in _published(IMD)}
    features = json.loads(shared_data(LSOAS).read_text())["features"]
    deprived = {f["properties"]["LSOA11CD"]: shapely.make_valid(shape(f["geometry"]))
                for f in features if deciles[f["properties"]["LSOA11CD"]] <= 2}
    groups = _touching_groups(deprived)
    found = rows(db, "SELECT code, name FROM areas WHERE kind = 'neighbourhood' ORDER BY code")
    assert len(found) == len(groups)
    assert f"{len(groups)} inserted" in result.output
    assert sorted(code for code, _ in found) == sorted(f"PN-{min(g)}" for g in groups)
    ward_names = {name for name, _ in wards.values()}
    for code, name in found:
        group = next(g for g in groups if f"PN-{min(g)}" == code)
        union = shapely.union_all([deprived[c] for c in group])
        biggest = max(wards.values(), key=lambda w: w[1].intersection(union).area)[0]
        assert name.startswith(f"{biggest} priority neighbourhood"), (code, name)
        assert name.rsplit(" priority", 1)[0] in ward_names
    assert len({name for _, name in found}) == len(found)
    # Every place in a deprived LSOA is now in a neighbourhood.
    again = run(runner, "neighbourhoods", "from-imd", "--deciles", "1-2")
    assert "0 inserted, 0 updated" in again.output and "0 removed" in again.output


def test_places_are_assigned_to_their_lsoa_and_neighbourhood(wards, db, runner, tmp_path):
    list(_load_lsoas_with_figures(runner))
    run(runner, "neighbourhoods", "from-imd", "--deciles", "1-2")
    points = points_in_kirklees(200, seed=8)
    path = write_csv(tmp_path / "assets.csv", ["id", "name", "lat", "lon"],
                     [[f"P{n}", f"Place {n}", lat, lon] for n, (lon, lat) in enumerate(points)])
    assert run(runner, "import", "assets", path).exit_code == 0
    features = json.loads(shared_data(LSOAS).read_text())["features"]
    lsoas = {f["properties"]["LSOA11CD"]: shapely.make_valid(shape(f["geometry"]))
             for f in features}
    neighbourhoods = dict(rows(db, "SELECT code, ST_AsText(geom) FROM areas "
                                   "WHERE kind = 'neighbourhood'"))
    shapes = {code: shapely.from_wkt(wkt) for code, wkt in neighbourhoods.items()}
    for source_id, lon, lat, ward, lsoa, codes in rows(
            db, "SELECT source_id, ST_X(geom), ST_Y(geom), ward_code, lsoa_code, "
                "neighbourhood_codes FROM places"):
        point = shapely.Point(lon, lat)
        assert ward == ward_of(lon, lat)
        assert lsoa == next(c for c, g in lsoas.items() if g.intersects(point))
        assert codes == sorted(c for c, g in shapes.items() if g.intersects(point))
    assert scalar(db, "SELECT count(*) FROM places WHERE cardinality(neighbourhood_codes) > 0") > 0


def test_reloading_boundaries_reassigns_every_place(wards, db, runner, tmp_path):
    points = points_in_kirklees(100, seed=4)
    path = write_csv(tmp_path / "assets.csv", ["id", "name", "lat", "lon"],
                     [[f"P{n}", f"Place {n}", lat, lon] for n, (lon, lat) in enumerate(points)])
    assert run(runner, "import", "assets", path).exit_code == 0
    busiest = scalar(db, "SELECT ward_code FROM places GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    moved = scalar(db, "SELECT count(*) FROM places WHERE ward_code = :c", c=busiest)
    # A boundary review renames one ward: a new set with a new code for it.
    document = json.loads(shared_data(WARDS).read_text())
    for feature in document["features"]:
        if feature["properties"]["WD13CD"] == busiest:
            feature["properties"]["WD13CD"] = "E05999999"
    reviewed = tmp_path / "wards-reviewed.geojson"
    reviewed.write_text(json.dumps(document))
    result = run(runner, "boundaries", "wards", reviewed, "--code-field", "WD13CD",
                 "--name-field", "WD13NM", "--vintage", "2027")
    assert result.exit_code == 0, result.output
    assert "1 inserted, 22 updated, 0 unchanged, 1 removed" in result.output
    assert f"{100:,} places were given a different ward" not in result.output
    assert f"{moved:,} places were given a different ward" in result.output
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code = :c", c=busiest) == 0
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code = 'E05999999'") == moved
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'ward' AND vintage = '2027'") == 23


def test_a_dry_run_of_boundaries_changes_nothing(wards, db, runner):
    result = run(runner, "boundaries", "lsoas", shared_data(LSOAS), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would be 259 inserted" in result.output
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'lsoa'") == 0
