"""Postcodes from the ONS Postcode Directory and OS Code-Point Open, as published."""
from __future__ import annotations

import zipfile

from test_import_helpers import rows, run, scalar, write_csv

# Columns as in the ONSPD's CSV (a selection; the real file has about fifty).
ONSPD_HEADER = ["pcd", "pcd2", "pcds", "dointr", "doterm", "oscty", "oseast1m", "osnrth1m",
                "osgrdind", "lat", "long"]


def test_onspd_loads_and_postcodes_without_a_location_are_left_out(db, runner, tmp_path):
    path = write_csv(tmp_path / "ONSPD_FEB_2026_UK.csv", ONSPD_HEADER, [
        ["HD1 2TA", "HD1  2TA", "HD1 2TA", "198001", "", "E99999999", "414351", "416456", "1",
         "53.645792", "-1.785035"],
        ["WF131AA", "WF13 1AA", "WF13 1AA", "198001", "", "E99999999", "423610", "421893", "1",
         "53.694210", "-1.644830"],
        ["HD9 9ZZ", "HD9  9ZZ", "HD9 9ZZ", "199901", "200012", "E99999999", "", "", "9",
         "99.999999", "0.000000"],
    ])
    result = run(runner, "postcodes", path)
    assert result.exit_code == 0, result.output
    assert "2 inserted" in result.output
    assert "1 postcodes have no location in the file and were left out" in result.output
    assert rows(db, "SELECT postcode, postcode_key, round(ST_Y(geom)::numeric, 6)::float8 FROM postcodes "
                    "ORDER BY postcode") == [("HD1 2TA", "HD12TA", 53.645792),
                                             ("WF13 1AA", "WF131AA", 53.69421)]
    again = run(runner, "postcodes", path)
    assert "0 inserted, 0 updated, 2 unchanged" in again.output, again.output


def test_code_point_open_zip_without_a_header_loads(db, runner, tmp_path):
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
                        '"WF139ZZ",90,0,0,"E92000001","","","","",""\r\n')
    result = run(runner, "postcodes", archive)
    assert result.exit_code == 0, result.output
    assert "OS Code-Point Open" in result.output and "read 62 CSV files" in result.output
    assert "3 inserted" in result.output
    lon, lat = rows(db, "SELECT ST_X(geom), ST_Y(geom) FROM postcodes WHERE postcode = 'HD1 2TA'")[0]
    assert abs(lon - -1.784) < 0.002 and abs(lat - 53.646) < 0.002  # Huddersfield
    assert scalar(db, "SELECT postcode FROM postcodes WHERE postcode_key = 'WF131AA'") == "WF13 1AA"


def test_a_malformed_postcode_is_named(db, runner, tmp_path):
    path = write_csv(tmp_path / "postcodes.csv", ["postcode", "latitude", "longitude"],
                     [["HD1 2TA", "53.6", "-1.78"], ["NOT A CODE", "53.6", "-1.78"]])
    result = run(runner, "postcodes", path)
    assert result.exit_code == 1
    assert "row 2" in result.output and "'NOT A CODE' is not a UK postcode" in result.output
    assert scalar(db, "SELECT count(*) FROM postcodes") == 0
