"""Reading files as councils save them, and the cells in them (no database needed)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from importers import values
from importers.fields import match_columns, parse_mapping
from importers.kinds import KINDS, LOCATION_FIELDS, PLACE_FIELDS
from importers.sources import ROW_PROBLEM, SourceError, open_source


def _rows(path, **options):
    source = open_source(path, **options)
    return source, [row for _, row in source.rows()]


@pytest.mark.parametrize("delimiter, name", [(",", "comma"), (";", "semicolon"), ("\t", "tab"),
                                             ("*", "star"), ("|", "pipe")])
def test_the_delimiter_is_sniffed_with_stray_spaces_after_it(tmp_path, delimiter, name):
    path = tmp_path / "groups.csv"
    sep = delimiter + " "
    path.write_text(sep.join(["name", "lat", "lng"]) + "\n"
                    + sep.join(['"Food, Fuel & Friends"', "53.6", "-1.78"]) + "\n"
                    + sep.join(["Warm Space", "53.7", "-1.65"]) + "\n")
    source, found = _rows(path)
    assert source.columns == ["name", "lat", "lng"]
    assert f"{name}-separated" in " ".join(source.notes)
    assert found[0] == {"name": "Food, Fuel & Friends", "lat": "53.6", "lng": "-1.78"}
    assert found[1]["lng"] == "-1.65"


@pytest.mark.parametrize("encoding, note", [("utf-8", "UTF-8"), ("utf-8-sig", "byte order mark"),
                                            ("cp1252", "Windows-1252"), ("utf-16", "UTF-16")])
def test_the_encoding_is_recognised(tmp_path, encoding, note):
    path = tmp_path / "excel.csv"
    with open(path, "w", encoding=encoding, newline="") as handle:
        handle.write("Name\tNotes\r\nCafé £2\tcrème brûlée\r\n")
    source, found = _rows(path)
    assert note in source.notes[0]
    assert found == [{"Name": "Café £2", "Notes": "crème brûlée"}]


def test_a_row_with_the_delimiter_inside_a_value_is_reported_not_misread(tmp_path):
    path = tmp_path / "star.csv"
    path.write_text("name* link* lat*\nA* https://x.org/?a=*-R* 53.6*\nB* https://y.org* 53.7*\n")
    _, found = _rows(path)
    assert ROW_PROBLEM in found[0] and "'*'" in found[0][ROW_PROBLEM]
    assert found[1] == {"name": "B", "link": "https://y.org", "lat": "53.7"}


def test_json_nested_fields_are_flattened(tmp_path):
    path = tmp_path / "groups.json"
    path.write_text(json.dumps([{"id": "1", "name": "A", "location_coord": {"lat": 53.6,
                                                                            "lng": -1.7}}]))
    source, found = _rows(path)
    assert source.columns == ["id", "name", "location_coord.lat", "location_coord.lng"]
    assert found == [{"id": "1", "name": "A", "location_coord.lat": 53.6,
                      "location_coord.lng": -1.7}]


def test_json_wrapped_in_an_api_response_is_unwrapped(tmp_path):
    path = tmp_path / "response.json"
    path.write_text(json.dumps({"statusCode": 200, "headers": {},
                                "body": json.dumps([{"id": "x", "contact": {"phone": "01484"}}])}))
    source, found = _rows(path)
    assert "unwrapped the API response's body" in source.notes
    assert found == [{"id": "x", "contact.phone": "01484"}]


def test_geojson_named_json_goes_to_gdal(tmp_path):
    path = tmp_path / "hubs.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Hub"},
         "geometry": {"type": "Point", "coordinates": [-1.78, 53.64]}}]}))
    source = open_source(path)
    assert source.format == "geojson" and source.srid == 4326 and source.columns == ["name"]


def test_an_unknown_format_asks_for_format(tmp_path):
    path = tmp_path / "assets.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(SourceError, match="--format"):
        open_source(path)


def test_column_names_match_whatever_their_case_and_spacing():
    fields = [*KINDS["mutual-aid"].fields, *PLACE_FIELDS, *LOCATION_FIELDS]
    match = match_columns(["Group Name", "LATITUDE", "Location Coord.Lng", "link_facebook",
                           "Notes ", "Colour"], fields)
    assert match.columns == {"links": "link_facebook", "name": "Group Name",
                             "description": "Notes ", "latitude": "LATITUDE",
                             "longitude": "Location Coord.Lng"}
    assert match.ignored == ["Colour"]


def test_map_overrides_guesses_and_names_mistakes():
    fields = [*PLACE_FIELDS, *LOCATION_FIELDS]
    mapping = parse_mapping(["name=Organisation", "latitude = Y coord", "description="])
    match = match_columns(["Name", "Organisation", "Y coord", "X", "Notes"], fields, mapping)
    assert match.columns["name"] == "Organisation" and match.columns["latitude"] == "Y coord"
    assert "description" not in match.columns and not match.errors
    bad = match_columns(["Name"], fields, {"nmae": "Name", "postcode": "Post Code"})
    assert any("there is no field 'nmae'" in e for e in bad.errors)
    assert any("has no column 'Post Code'" in e for e in bad.errors)
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        parse_mapping(["name"])


@pytest.mark.parametrize("cell, expected", [
    ("2024-04-01", dt.date(2024, 4, 1)), ("01/04/2024", dt.date(2024, 4, 1)),
    ("1.4.24", dt.date(2024, 4, 1)), ("1st April 2024", dt.date(2024, 4, 1)),
    ("2020-05-15T21:28:16.577Z", dt.date(2020, 5, 15)), (1589578096577, dt.date(2020, 5, 15)),
    ("", None)])
def test_dates_as_people_write_them(cell, expected):
    assert values.date(cell) == expected


def test_cells_that_cannot_be_read_say_why():
    with pytest.raises(values.Invalid, match="not a date"):
        values.date("31/02/2024")
    with pytest.raises(values.Invalid, match="not yes or no"):
        values.boolean("perhaps")
    with pytest.raises(values.Invalid, match="not a UK postcode"):
        values.postcode("HD1")
    with pytest.raises(values.Invalid, match="not a latitude"):
        values.number("fifty", "latitude")


def test_cells_are_normalised():
    assert values.integer('"29,199"'.strip('"')) == 29199
    assert values.number(" 53,6458 ") == 53.6458
    assert values.postcode("hd12ta") == "HD1 2TA" and values.postcode("HD1  2TA") == "HD1 2TA"
    assert values.url("www.example.org/x") == "https://www.example.org/x"
    assert values.url("https:/www.facebook.com/g") == "https://www.facebook.com/g"
    assert values.boolean("Yes") is True and values.boolean("N") is False
    assert values.lower_text_list("Food bank; Warm Space;food bank") == ["food bank",
                                                                         "warm space"]
    assert values.text("  Café \x00 ") == "Café"


def test_every_field_and_loader_option_is_documented():
    from mapping.cli import main
    from mapping.core.config import PROJECT_ROOT

    guide = (PROJECT_ROOT / "docs" / "importing.md").read_text()
    fields = [f.name for f in (*PLACE_FIELDS, *LOCATION_FIELDS)]
    fields += [f.name for kind in KINDS.values() for f in kind.fields]
    missing = [name for name in fields if f"`{name}`" not in guide]
    assert not missing, f"fields missing from docs/importing.md: {missing}"
    commands = [main.commands[name] for name in ("import", "boundaries", "deprivation",
                                                  "population", "postcodes")]
    commands.append(main.commands["neighbourhoods"].commands["from-imd"])
    options = {opt for command in commands for param in command.params
               for opt in getattr(param, "opts", []) if opt.startswith("--")}
    missing = sorted(opt for opt in options if opt not in guide)
    assert not missing, f"options missing from docs/importing.md: {missing}"
