"""Boundaries, deprivation, population and the priority neighbourhoods derived from them,
all from the real Kirklees files. The tests assert on each importer's `Report`; one runs
`assetmap` itself, for what only the command does."""
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
    derive_neighbourhoods,
    load_boundaries,
    load_deprivation,
    load_places,
    load_population,
    load_wards,
    note,
    points_in_kirklees,
    rows,
    run,
    scalar,
    ward_of,
    warnings,
    write_csv,
)

IMD = "kirklees/imd-2019-lsoa.csv"
POPULATION = "kirklees/population-2015-lsoa.csv"


@pytest.fixture
def wards(db):
    return load_wards(db)


def _published(relative: str) -> list[dict]:
    with open(shared_data(relative), newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _number(cell: str) -> int:
    return int(cell.replace(",", ""))


def _load_lsoas_with_figures(engine) -> list:
    """The real LSOAs, then their deprivation and population: the three reports."""
    reports = [load_boundaries(engine, "lsoas", shared_data(LSOAS)),
               load_deprivation(engine, shared_data(IMD)),
               load_population(engine, shared_data(POPULATION))]
    for report in reports:
        assert report.status == "committed", report.lines()
    return reports


def _load_real_wards(engine, **given):
    return load_boundaries(engine, "wards", shared_data(WARDS), code_field="WD13CD",
                           name_field="WD13NM", **given)


def test_the_real_wards_load_with_the_code_and_name_fields_given(db):
    report = _load_real_wards(db)
    assert report.status == "committed", report.lines()
    assert (report.rows, report.invalid, report.warnings) == (23, 0, 0)
    assert report.counts == {"inserted": 23, "updated": 0, "unchanged": 0, "removed": 0}
    assert "codes from 'WD13CD', names from 'WD13NM', vintage 2013" in report.notes
    features = json.loads(shared_data(WARDS).read_text())["features"]
    assert rows(db, "SELECT code, name, vintage FROM areas WHERE kind = 'ward' ORDER BY code") == \
        sorted((f["properties"]["WD13CD"], f["properties"]["WD13NM"], "2013") for f in features)
    again = _load_real_wards(db)
    assert again.status == "committed", again.lines()
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": 23, "removed": 0}


def test_a_code_field_that_is_not_there_is_named(db):
    report = load_boundaries(db, "wards", shared_data(WARDS), code_field="WD22CD")
    assert report.status == "failed" and not report.ok
    assert report.fatal.startswith("no code column called 'WD22CD' (columns: "), report.fatal
    assert "WD13CD" in report.fatal and report.fatal.endswith("; name it with --code-field")
    assert scalar(db, "SELECT count(*) FROM areas") == 0


def test_lsoas_deprivation_and_population_load_from_the_published_files(db):
    boundaries, deprivation, population = _load_lsoas_with_figures(db)
    assert boundaries.counts == {"inserted": 259, "updated": 0, "unchanged": 0, "removed": 0}
    # Three real LSOA polygons are invalid as published; they are repaired, not refused.
    assert boundaries.warnings == 3 and boundaries.invalid == 0
    repaired = warnings(boundaries)
    assert len(repaired) == 3
    for _, field, reason in repaired:
        assert field == "geometry" and reason.endswith("and has been repaired with ST_MakeValid")
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'lsoa' AND NOT ST_IsValid(geom)") == 0
    assert deprivation.counts == {"updated": 259, "unchanged": 0, "not loaded": 0}
    assert note(deprivation, "byte order mark").startswith(
        "read as UTF-8 with a byte order mark (Excel)")
    imd = {row["LSOA code (2011)"]: (_number(row["Index of Multiple Deprivation (IMD) Rank"]),
                                     int(row["Index of Multiple Deprivation (IMD) Decile"]))
           for row in _published(IMD)}
    assert {code: (rank, decile) for code, rank, decile in rows(
        db, "SELECT code, imd_rank, imd_decile FROM areas WHERE kind = 'lsoa'")} == imd
    assert any(rank >= 1000 for rank, _ in imd.values())  # "29,199" and the like
    assert population.counts == {"updated": 259, "unchanged": 0, "not loaded": 0}
    people = {row["LSOA code (2011)"]: _number(
        row["Total population: mid 2015 (excluding prisoners)"]) for row in _published(POPULATION)}
    assert dict(rows(db, "SELECT code, population FROM areas WHERE kind = 'lsoa'")) == people
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'lsoa' AND population <> "
                      "population_0_15 + population_16_59 + population_60_plus") == 0
    again = load_deprivation(db, shared_data(IMD))
    assert again.status == "committed", again.lines()
    assert again.counts == {"updated": 0, "unchanged": 259, "not loaded": 0}


def test_ward_populations_are_the_sum_of_their_lsoas(wards, db):
    _load_lsoas_with_figures(db)
    total = sum(_number(row["Total population: mid 2015 (excluding prisoners)"])
                for row in _published(POPULATION))
    assert scalar(db, "SELECT sum(population) FROM areas WHERE kind = 'ward'") == total
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'ward' AND population IS NULL") == 0


def test_deprivation_before_lsoas_says_what_to_load_first(db):
    report = load_deprivation(db, shared_data(IMD))
    assert report.status == "failed" and not report.ok
    assert report.fatal == ("no LSOAs are loaded: load their boundaries first "
                            "(assetmap boundaries lsoas FILE)")


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


def test_priority_neighbourhoods_merge_touching_deprived_lsoas(wards, db):
    _load_lsoas_with_figures(db)
    report = derive_neighbourhoods(db, "1-2")
    assert report.status == "committed", report.lines()
    assert "LSOAs in IMD deciles 1 to 2, touching neighbours merged" in report.notes
    deciles = {row["LSOA code (2011)"]: int(row["Index of Multiple Deprivation (IMD) Decile"])
               for row in _published(IMD)}
    features = json.loads(shared_data(LSOAS).read_text())["features"]
    deprived = {f["properties"]["LSOA11CD"]: shapely.make_valid(shape(f["geometry"]))
                for f in features if deciles[f["properties"]["LSOA11CD"]] <= 2}
    groups = _touching_groups(deprived)
    found = rows(db, "SELECT code, name FROM areas WHERE kind = 'neighbourhood' ORDER BY code")
    assert len(found) == len(groups)
    assert report.rows == len(groups)
    assert report.counts == {"inserted": len(groups), "updated": 0, "unchanged": 0, "removed": 0}
    assert sorted(code for code, _ in found) == sorted(f"PN-{min(g)}" for g in groups)
    for code, name in found:
        # Named after the wards holding a fifth of it or more, biggest first (shares
        # worked out here in degrees, so a ward within 2 points of a fifth may go either way).
        group = next(g for g in groups if f"PN-{min(g)}" == code)
        union = shapely.union_all([deprived[c] for c in group])
        shares = sorted(((w[1].intersection(union).area / union.area, w[0])
                         for w in wards.values()), reverse=True)
        assert name.startswith(shares[0][1]), (code, name, shares[:3])
        assert name.endswith("priority neighbourhood")
        for share, ward_name in shares:
            if share >= 0.22:
                assert ward_name in name, (code, name, shares[:4])
            elif share < 0.18 and ward_name not in shares[0][1]:
                assert ward_name not in name, (code, name, shares[:4])
    assert len({name for _, name in found}) == len(found)
    named = dict(found)
    assert named["PN-E01011014"] == "Dewsbury West and Batley East priority neighbourhood"
    # Two mostly in Dewsbury East, told apart by where each lies in it.
    assert {named["PN-E01011121"], named["PN-E01011126"]} == {
        "Dewsbury East (south-east) priority neighbourhood",
        "Dewsbury East (north-east) priority neighbourhood"}
    # Derived again from the same deciles, nothing changes.
    again = derive_neighbourhoods(db, "1-2")
    assert again.status == "committed", again.lines()
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": len(groups), "removed": 0}


def test_places_are_assigned_to_their_lsoa_and_neighbourhood(wards, db, tmp_path):
    _load_lsoas_with_figures(db)
    assert derive_neighbourhoods(db, "1-2").status == "committed"
    points = points_in_kirklees(200, seed=8)
    path = write_csv(tmp_path / "assets.csv", ["id", "name", "lat", "lon"],
                     [[f"P{n}", f"Place {n}", lat, lon] for n, (lon, lat) in enumerate(points)])
    report = load_places(db, "assets", path)
    assert report.status == "committed" and report.counts["inserted"] == 200, report.lines()
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


def test_reloading_boundaries_reassigns_every_place(wards, db, tmp_path):
    points = points_in_kirklees(100, seed=4)
    path = write_csv(tmp_path / "assets.csv", ["id", "name", "lat", "lon"],
                     [[f"P{n}", f"Place {n}", lat, lon] for n, (lon, lat) in enumerate(points)])
    assert load_places(db, "assets", path).counts["inserted"] == 100
    busiest = scalar(db, "SELECT ward_code FROM places GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    moved = scalar(db, "SELECT count(*) FROM places WHERE ward_code = :c", c=busiest)
    assert 0 < moved < 100
    # A boundary review renames one ward: a new set with a new code for it.
    document = json.loads(shared_data(WARDS).read_text())
    for feature in document["features"]:
        if feature["properties"]["WD13CD"] == busiest:
            feature["properties"]["WD13CD"] = "E05999999"
    reviewed = tmp_path / "wards-reviewed.geojson"
    reviewed.write_text(json.dumps(document))
    report = load_boundaries(db, "wards", reviewed, code_field="WD13CD", name_field="WD13NM",
                             vintage="2027")
    assert report.status == "committed", report.lines()
    assert report.counts == {"inserted": 1, "updated": 22, "unchanged": 0, "removed": 1}
    assert note(report, "places were given a different ward") == (
        f"{moved:,} places were given a different ward, LSOA or neighbourhood")
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code = :c", c=busiest) == 0
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code = 'E05999999'") == moved
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'ward' AND vintage = '2027'") == 23


def test_a_dry_run_of_boundaries_changes_nothing(wards, db, runner):
    """Tests the CLI: `assetmap boundaries lsoas FILE --dry-run` exits 0 and prints, as its
    first line, what would change and that nothing was written."""
    result = run(runner, "boundaries", "lsoas", shared_data(LSOAS), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "lsoas: dry run, nothing written; 259 rows read; would be 259 inserted, 0 updated, "
        "0 unchanged, 0 removed; 0 invalid, 3 warnings ("), result.output
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'lsoa'") == 0
    assert scalar(db, "SELECT status FROM import_runs WHERE kind = 'lsoa'") == "dry-run"


def test_the_neighbourhoods_command_says_what_to_load_first(db, runner):
    """Tests the CLI: `assetmap neighbourhoods from-imd` exits 1 and prints the report's
    reason when there are no LSOAs, and refuses deciles out of range as a usage error."""
    result = run(runner, "neighbourhoods", "from-imd", "--deciles", "1-2")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("neighbourhoods: FAILED ("), lines
    assert lines[1] == "  no LSOAs are loaded: load them first (assetmap boundaries lsoas FILE)"
    wrong = run(runner, "neighbourhoods", "from-imd", "--deciles", "3-1")
    assert wrong.exit_code == 2
    assert "--deciles '3-1': deciles run from 1 to 10, low to high" in wrong.output
    assert scalar(db, "SELECT count(*) FROM areas") == 0


def test_neighbourhood_names_say_where_they_are():
    from importers.neighbourhoods import neighbourhood_names

    names = neighbourhood_names([
        {"code": "PN-A", "wards": [("Dalton", 0.27), ("Newsome", 0.21), ("Ashbrow", 0.19)],
         "dx": 0, "dy": 0},
        {"code": "PN-B", "wards": [("Heckmondwike", 0.77), ("Liversedge and Gomersal", 0.23)],
         "dx": 0, "dy": 0},
        {"code": "PN-C", "wards": [("Golcar", 0.15), ("Lindley", 0.14)], "dx": 0, "dy": 0},
        {"code": "PN-D", "wards": [("Mirfield", 1.0)], "dx": 800, "dy": 790},
        {"code": "PN-E", "wards": [("Mirfield", 0.9)], "dx": -900, "dy": 10},
        {"code": "PN-F", "wards": [("Batley East", 1.0)], "dx": 0, "dy": 500},
        {"code": "PN-G", "wards": [("Batley East", 1.0)], "dx": 10, "dy": 900},
    ])
    assert names == {
        "PN-A": "Dalton and Newsome priority neighbourhood",
        "PN-B": "Heckmondwike / Liversedge and Gomersal priority neighbourhood",
        "PN-C": "Golcar priority neighbourhood",
        "PN-D": "Mirfield (north-east) priority neighbourhood",
        "PN-E": "Mirfield (west) priority neighbourhood",
        # Both to the north: numbered instead.
        "PN-F": "Batley East (1) priority neighbourhood",
        "PN-G": "Batley East (2) priority neighbourhood",
    }


def test_the_councils_names_for_neighbourhoods_win_and_stay(wards, db, runner, tmp_path):
    """Tests the CLI: `assetmap neighbourhoods names FILE` renames, keeps the names when
    the neighbourhoods are derived again, refuses an unknown code naming its row (and
    changes nothing), and an empty name gives the derived name back."""
    _load_lsoas_with_figures(db)
    assert derive_neighbourhoods(db, "1-2").status == "committed"
    derived = scalar(db, "SELECT name FROM areas WHERE code = 'PN-E01011038'")
    bad = write_csv(tmp_path / "bad.csv", ["code", "name"],
                    [["PN-E01011038", "Huddersfield town centre"], ["PN-NOPE", "Nowhere"]])
    refused = run(runner, "neighbourhoods", "names", bad)
    assert refused.exit_code == 1, refused.output
    assert "row 2" in refused.output and (
        "there is no priority neighbourhood with the code PN-NOPE") in refused.output
    assert scalar(db, "SELECT name FROM areas WHERE code = 'PN-E01011038'") == derived

    good = write_csv(tmp_path / "names.csv", ["code", "name"],
                     [["PN-E01011038", "Huddersfield  town centre"]])
    result = run(runner, "neighbourhoods", "names", good)
    assert result.exit_code == 0, result.output
    assert scalar(db, "SELECT name FROM areas WHERE code = 'PN-E01011038'") == (
        "Huddersfield town centre")
    again = derive_neighbourhoods(db, "1-2")
    assert again.status == "committed", again.lines()
    assert again.counts["updated"] == 0, again.counts
    assert scalar(db, "SELECT name FROM areas WHERE code = 'PN-E01011038'") == (
        "Huddersfield town centre")

    cleared = write_csv(tmp_path / "clear.csv", ["code", "name"], [["PN-E01011038", ""]])
    assert run(runner, "neighbourhoods", "names", cleared).exit_code == 0
    assert scalar(db, "SELECT name FROM areas WHERE code = 'PN-E01011038'") == derived
    assert scalar(db, "SELECT count(*) FROM area_names") == 0
