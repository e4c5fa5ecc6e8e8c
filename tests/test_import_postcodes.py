"""Postcodes from the ONS Postcode Directory and OS Code-Point Open, as published; only
the district's (within DISTRICT_MARGIN_M of the wards) are kept. The tests assert on the
importer's `Report`; one runs `assetmap postcodes` for the command's own options."""
from __future__ import annotations

import csv
import time
import zipfile

from conftest import shared_data
from test_import_helpers import load_postcodes, load_wards, problems, rows, run, scalar, write_csv

from mapping.core.config import PROJECT_ROOT

# Columns as in the ONSPD's CSV (a selection; the real file has about fifty).
ONSPD_HEADER = ["pcd", "pcd2", "pcds", "dointr", "doterm", "oscty", "oseast1m", "osnrth1m",
                "osgrdind", "lat", "long"]


def _counts(inserted=0, updated=0, unchanged=0, left_out=0) -> dict:
    return {"inserted": inserted, "updated": updated, "unchanged": unchanged,
            "left out": left_out}


def test_onspd_loads_and_postcodes_without_a_location_are_left_out(db, tmp_path):
    load_wards(db)
    path = write_csv(tmp_path / "ONSPD_FEB_2026_UK.csv", ONSPD_HEADER, [
        ["HD1 2TA", "HD1  2TA", "HD1 2TA", "198001", "", "E99999999", "414351", "416456", "1",
         "53.645792", "-1.785035"],
        ["WF131AA", "WF13 1AA", "WF13 1AA", "198001", "", "E99999999", "423610", "421893", "1",
         "53.694210", "-1.644830"],
        ["HD9 9ZZ", "HD9  9ZZ", "HD9 9ZZ", "199901", "200012", "E99999999", "", "", "9",
         "99.999999", "0.000000"],
        # Buckingham Palace: far outside Kirklees.
        ["SW1A1AA", "SW1A 1AA", "SW1A 1AA", "198001", "", "E99999999", "529090", "179645", "1",
         "51.501009", "-0.141588"],
    ])
    report = load_postcodes(db, path)
    assert report.status == "committed", report.lines()
    assert (report.rows, report.invalid) == (4, 0)
    assert report.counts == _counts(inserted=2, left_out=1)
    assert "1 postcodes have no location in the file and were left out" in report.notes
    assert ("kept the postcodes within 2,000 m of the wards (DISTRICT_MARGIN_M); 1 further "
            "away were left out (1 outside the wards' box while reading, 0 by the exact "
            "distance)") in report.notes
    assert rows(db, "SELECT postcode, postcode_key, round(ST_Y(geom)::numeric, 6)::float8 FROM postcodes "
                    "ORDER BY postcode") == [("HD1 2TA", "HD12TA", 53.645792),
                                             ("WF13 1AA", "WF131AA", 53.69421)]
    again = load_postcodes(db, path)
    assert again.status == "committed", again.lines()
    assert again.counts == _counts(unchanged=2, left_out=1)


def test_code_point_open_zip_without_a_header_loads(db, tmp_path):
    load_wards(db)
    archive = _small_code_point_zip(tmp_path)
    report = load_postcodes(db, archive)
    assert report.status == "committed", report.lines()
    assert ("no header: read as OS Code-Point Open (postcode, quality, easting, northing, ...)"
            in report.notes)
    assert "read 62 CSV files from codepo_gb.zip" in report.notes
    assert report.counts == _counts(inserted=3)
    lon, lat = rows(db, "SELECT ST_X(geom), ST_Y(geom) FROM postcodes WHERE postcode = 'HD1 2TA'")[0]
    assert abs(lon - -1.784) < 0.002 and abs(lat - 53.646) < 0.002  # Huddersfield
    assert scalar(db, "SELECT postcode FROM postcodes WHERE postcode_key = 'WF131AA'") == "WF13 1AA"


NO_WARDS = ("no wards are loaded, so the district's postcodes cannot be told from the rest: "
            "load the wards first (assetmap boundaries wards FILE), or keep every postcode "
            "with --everywhere")


def test_without_wards_postcodes_are_refused_unless_everywhere(db, tmp_path):
    archive = _small_code_point_zip(tmp_path)
    refused = load_postcodes(db, archive)
    assert refused.status == "failed" and not refused.ok
    assert refused.fatal == NO_WARDS
    assert scalar(db, "SELECT count(*) FROM postcodes") == 0
    everywhere = load_postcodes(db, archive, everywhere=True)
    assert everywhere.status == "committed", everywhere.lines()
    assert everywhere.counts == _counts(inserted=3)
    assert "--everywhere: every postcode in the file was kept" in everywhere.notes


def test_district_option_keeps_one_admin_district(db, tmp_path):
    archive = _small_code_point_zip(tmp_path, extra=(
        '"LS1 1UR",10,430028,433405,"E92000001","E19000003","E18000003","","E08000035",'
        '"E05001420"\r\n'))
    report = load_postcodes(db, archive, district="E08000034")
    assert report.status == "committed", report.lines()
    assert report.counts == _counts(inserted=3, left_out=2)
    assert ("kept the postcodes of admin district E08000034; 2 of other districts were left "
            "out") in report.notes
    assert scalar(db, "SELECT count(*) FROM postcodes WHERE postcode LIKE 'LS%'") == 0


def test_the_command_takes_everywhere_or_district_not_both(db, runner, tmp_path):
    """Tests the CLI: `assetmap postcodes` without wards exits 1 and prints why and the
    --everywhere hint; with --everywhere it exits 0 and prints the summary line; with both
    --everywhere and --district it is a usage error (exit 2)."""
    archive = _small_code_point_zip(tmp_path)
    refused = run(runner, "postcodes", archive)
    assert refused.exit_code == 1, refused.output
    assert refused.output.startswith("postcodes: FAILED (")
    assert refused.output.splitlines()[1] == f"  {NO_WARDS}"
    everywhere = run(runner, "postcodes", archive, "--everywhere")
    assert everywhere.exit_code == 0, everywhere.output
    assert everywhere.output.startswith(
        "postcodes: done; 4 rows read; 3 inserted, 0 updated, 0 unchanged, 0 left out; "
        "0 invalid, 0 warnings ("), everywhere.output
    both = run(runner, "postcodes", archive, "--everywhere", "--district", "E08000034")
    assert both.exit_code == 2
    assert "--everywhere and --district contradict each other" in both.output


def test_the_shipped_kirklees_extract_loads_whole(db):
    load_wards(db)
    report = load_postcodes(db, PROJECT_ROOT / "data" / "codepoint-open-kirklees-2025-05.csv")
    assert report.status == "committed", report.lines()
    assert report.rows == 11_502
    assert report.counts == _counts(inserted=11_502)


def _kirklees_keys() -> set[str]:
    with open(shared_data("postcodes/codepoint-open-kirklees-2025-05.csv"), newline="") as handle:
        return {row["Postcode"].replace(" ", "") for row in csv.DictReader(handle)}


def test_the_whole_gb_zip_keeps_the_district_and_its_margin(db):
    """Code-Point Open as OS publishes it (1.7 million postcodes in 120 CSV files): every
    Kirklees postcode is kept, plus those within 2 km of the wards, and nothing further."""
    load_wards(db)
    started = time.perf_counter()
    report = load_postcodes(db, shared_data("postcodes/codepo_gb-2025-05.zip"))
    seconds = time.perf_counter() - started
    assert report.status == "committed", report.lines()
    assert report.rows == 1_743_449
    loaded = {key for (key,) in rows(db, "SELECT postcode_key FROM postcodes")}
    kirklees = _kirklees_keys()
    assert len(kirklees) == 11_502 and kirklees <= loaded
    # What the 2 km margin adds: postcodes of Calderdale, Bradford, Leeds, Wakefield,
    # Barnsley and beyond near the district's edge.
    assert len(loaded - kirklees) == 4_294
    assert report.counts["inserted"] == len(loaded)
    assert "811 postcodes have no location in the file and were left out" in report.notes
    farthest = scalar(db, """
        SELECT max(ST_Distance(p.geom_bng, w.geom)) FROM postcodes p,
               (SELECT ST_Union(geom_bng) AS geom FROM areas WHERE kind = 'ward') w""")
    assert farthest <= 2000
    assert seconds < 180, f"{seconds:.0f} s"


def _small_code_point_zip(tmp_path, extra: str = ""):
    archive = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("Doc/Code-Point_Open_Column_Headers.csv",
                        "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\nPostcode,Positional_quality_indicator,"
                        "Eastings,Northings,Country_code,NHS_regional_HA_code,NHS_HA_code,"
                        "Admin_county_code,Admin_district_code,Admin_ward_code\n")
        handle.writestr("Data/CSV/hd.csv",
                        '"HD1 2TA",10,414351,416456,"E92000001","E19000003","E18000003","",'
                        '"E08000034","E05001395"\r\n'
                        '"HD1 2TB",10,414400,416500,"E92000001","E19000003","E18000003","",'
                        '"E08000034","E05001395"\r\n')
        handle.writestr("Doc/licence.txt", "Contains OS data (c) Crown copyright")
        handle.writestr("Doc/Codelist.xlsx", b"PK\x03\x04 not opened")
        # One CSV per postcode area, as published: more files than an upload may hold.
        for area in range(60):
            handle.writestr(f"Data/CSV/z{area:02d}.csv", "")
        handle.writestr("Data/CSV/wf.csv",
                        '"WF131AA",10,423610,421893,"E92000001","E19000003","E18000003","",'
                        '"E08000034","E05001398"\r\n'
                        '"WF139ZZ",90,0,0,"E92000001","","","","",""\r\n' + extra)
    return archive


def test_a_malformed_postcode_is_named(db, tmp_path):
    path = write_csv(tmp_path / "postcodes.csv", ["postcode", "latitude", "longitude"],
                     [["HD1 2TA", "53.6", "-1.78"], ["NOT A CODE", "53.6", "-1.78"]])
    report = load_postcodes(db, path, everywhere=True)
    assert report.status == "failed" and report.invalid == 1
    assert problems(report) == [(2, "postcode", "'NOT A CODE' is not a UK postcode")]
    assert scalar(db, "SELECT count(*) FROM postcodes") == 0
