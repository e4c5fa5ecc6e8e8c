"""Files from outside are checked before anything opens them: hostile zips, and files
that would make GDAL pick a driver that reads other files on the server."""
import json
import os
import stat
import zipfile

import pytest
from sqlalchemy import text

from importers.base import Options
from importers.places import import_places
from importers.sources import SourceError, open_source, safety

GEOJSON = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"name": "Golcar Library", "id": "1"},
    "geometry": {"type": "Point", "coordinates": [-1.85, 53.64]}}]}


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                archive.writestr(data, b"target")
            else:
                archive.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../../etc/cron.d/x.csv", "/etc/passwd.csv", "a/../../b.shp",
                                    "C:\\windows\\x.shp"])
def test_a_zip_member_pointing_outside_is_refused(tmp_path, member):
    path = write_zip(tmp_path / "upload.zip", {member: b"x"})
    with pytest.raises(SourceError, match="outside the archive"):
        safety.check_archive(path)


def test_a_zip_with_a_link_is_refused(tmp_path):
    link = zipfile.ZipInfo("wards.shp")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = write_zip(tmp_path / "upload.zip", {"wards.shp": link})
    with pytest.raises(SourceError, match="is a link"):
        safety.check_archive(path)


def test_a_zip_bomb_is_refused_before_extraction(tmp_path):
    path = write_zip(tmp_path / "bomb.zip", {"places.csv": b"0" * (60 << 20)})
    assert os.path.getsize(path) < 200_000
    with pytest.raises(SourceError, match="zip bomb"):
        safety.check_archive(path)


def test_too_many_members_and_unexpected_files_are_refused(tmp_path):
    many = write_zip(tmp_path / "many.zip", {f"f{i}.csv": b"a" for i in range(60)})
    with pytest.raises(SourceError, match="at most 50"):
        safety.check_archive(many)
    odd = write_zip(tmp_path / "odd.zip", {"run.sh": b"rm -rf /"})
    with pytest.raises(SourceError, match="not part of a shapefile"):
        safety.check_archive(odd)
    nested = write_zip(tmp_path / "nested.zip", {"inner.zip": b"PK"})
    with pytest.raises(SourceError):
        safety.check_archive(nested)


def test_a_vrt_disguised_as_geojson_never_reaches_gdal(tmp_path):
    vrt = tmp_path / "places.geojson"
    vrt.write_text('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd'
                   '</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')
    with pytest.raises(SourceError, match="does not start like GeoJSON"):
        open_source(vrt)


def test_a_file_that_is_not_a_geopackage_is_refused(tmp_path):
    fake = tmp_path / "places.gpkg"
    fake.write_text("<MRF_META/>")
    with pytest.raises(SourceError, match="not a GeoPackage"):
        open_source(fake)


def test_a_refused_upload_is_reported_and_writes_nothing(tmp_path, db):
    path = write_zip(tmp_path / "upload.zip", {"../evil.csv": b"name,lat,lon\nx,53.6,-1.8\n"})
    report = import_places(db, "assets", path, Options(source="upload"))
    assert report.status == "failed"
    assert "outside the archive" in report.fatal
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places")).scalar() == 0


def test_a_real_geojson_still_loads(tmp_path, db):
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps(GEOJSON))
    report = import_places(db, "assets", path, Options(source="upload"))
    assert report.status == "committed", report.lines()
    assert report.counts["inserted"] == 1
