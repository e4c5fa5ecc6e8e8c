"""The set-based checks of staged places, in SQL over the whole file at once: postcode
lookup, geometry type and repair, repeated ids, kind clashes and the district's edge
(rows beyond the wards and their margin are left out unless `keep_outside`)."""
from __future__ import annotations

from sqlalchemy import text

from importers.base import STAGE


def check_places(importer, connection) -> dict:
    """Every set-based check, in order; refused rows are marked in the staging table.
    Returns the counts the district check adds to the report."""
    if importer.grid_in_degree_columns:
        importer.report.notes.insert(0, (
            f"{importer.grid_in_degree_columns:,} rows have eastings and northings in the "
            f"latitude/longitude columns: if the whole file is on the British National "
            f"Grid, run again with --crs EPSG:27700"))
    if importer.grid_from_xy:
        importer.report.notes.append(f"{importer.grid_from_xy:,} rows had X/Y on the British "
                                     f"National Grid (EPSG:27700) and were converted")
    locate_by_postcode(importer, connection)
    check_geometries(importer, connection, "geom", refuse=True)
    if "coverage" in importer.columns:
        check_geometries(importer, connection, "coverage", refuse=False)
    check_duplicates(importer, connection)
    importer.refuse(connection, f"""
        SELECT s.row_number, 'source_id' AS field,
               format('id %s already belongs to a %s in source %s; a place cannot change '
                      'kind', s.source_id, replace(p.kind, '_', ' '), p.source) AS reason
          FROM {STAGE} s JOIN places p ON p.source = :source AND p.source_id = s.source_id
         WHERE s.valid AND p.kind <> :kind""",
        {"source": importer.source_name, "kind": importer.kind.kind})
    return check_district(importer, connection)


def locate_by_postcode(importer, connection) -> None:
    if "postcode" not in importer.columns or not connection.execute(text(
            f"SELECT EXISTS (SELECT 1 FROM {STAGE} WHERE valid AND lookup IS NOT NULL)")).scalar():
        return
    connection.execute(text(f"""
        UPDATE {STAGE} s SET geom = p.geom FROM postcodes p
         WHERE s.valid AND s.lookup IS NOT NULL AND p.postcode_key = s.lookup"""))
    empty = not connection.execute(text("SELECT EXISTS (SELECT 1 FROM postcodes)")).scalar()
    hint = ("the postcodes table is empty: load a postcode directory first "
            "(assetmap postcodes FILE)") if empty else "is the postcode current?"
    importer.refuse(connection, f"""
        SELECT row_number, 'postcode' AS field,
               format('postcode %s is not in the postcodes table; %s', postcode,
                      CAST(:hint AS text)) AS reason
          FROM {STAGE} WHERE valid AND geom IS NULL AND lookup IS NOT NULL""",
        {"hint": hint})


def check_geometries(importer, connection, column: str, refuse: bool) -> None:
    """Transform to EPSG:4326, allow points and polygons only, repair invalid polygons
    (ST_MakeValid) with a warning. A bad coverage area is left out, not the row."""
    label = "geometry" if column == "geom" else column
    other_crs, not_points = connection.execute(text(f"""
        SELECT count(*) FILTER (WHERE ST_SRID({column}) <> 4326),
               count(*) FILTER (WHERE GeometryType({column}) <> 'POINT')
          FROM {STAGE} WHERE valid AND {column} IS NOT NULL""")).one()
    if other_crs:
        connection.execute(text(f"""
            UPDATE {STAGE} SET {column} = ST_Transform({column}, 4326)
             WHERE valid AND {column} IS NOT NULL AND ST_SRID({column}) <> 4326"""))
    if not not_points and refuse:
        if other_crs:
            importer.refuse(connection, f"""
                SELECT row_number, '{label}' AS field,
                       format('%s is not on Earth: is --crs right?', ST_AsText({column}, 2))
                       AS reason
                  FROM {STAGE} WHERE valid AND {column} IS NOT NULL
                   AND NOT (ST_X({column}) BETWEEN -180 AND 180
                            AND ST_Y({column}) BETWEEN -90 AND 90)""")
        return
    connection.execute(text(f"""
        UPDATE {STAGE} SET {column} = ST_GeometryN({column}, 1)
         WHERE valid AND GeometryType({column}) = 'MULTIPOINT'
           AND ST_NumGeometries({column}) = 1"""))
    allowed = "('POINT', 'POLYGON', 'MULTIPOLYGON')" if refuse else "('POLYGON', 'MULTIPOLYGON')"
    bad = f"""
        SELECT row_number, '{label}' AS field,
               CASE WHEN ST_IsEmpty({column}) THEN 'the geometry is empty'
                    WHEN GeometryType({column}) NOT IN {allowed}
                    THEN format('a %s cannot be placed on the map: give a point or a polygon',
                                lower(GeometryType({column})))
                    ELSE 'the coordinates are not on Earth: is --crs right?'
               END AS reason
          FROM {STAGE}
         WHERE valid AND {column} IS NOT NULL AND (ST_IsEmpty({column})
               OR GeometryType({column}) NOT IN {allowed}
               OR ST_XMin({column}) < -180 OR ST_XMax({column}) > 180
               OR ST_YMin({column}) < -90 OR ST_YMax({column}) > 90)"""
    if refuse:
        importer.refuse(connection, bad)
    else:
        for number, field_name, reason in connection.execute(text(bad)).all():
            importer.report.warn(number, field_name, reason + "; left out")
        connection.execute(text(f"""
            UPDATE {STAGE} SET {column} = NULL WHERE row_number IN (
                SELECT row_number FROM ({bad}) b)"""))
    importer.warn(connection, f"""
        SELECT row_number, '{label}' AS field,
               format('the polygon was invalid (%s) and has been repaired with ST_MakeValid',
                      ST_IsValidReason({column})) AS reason
          FROM {STAGE}
         WHERE valid AND {column} IS NOT NULL
           AND GeometryType({column}) <> 'POINT' AND NOT ST_IsValid({column})""")
    connection.execute(text(f"""
        UPDATE {STAGE} SET {column} = ST_CollectionExtract(ST_MakeValid({column}), 3)
         WHERE valid AND {column} IS NOT NULL
           AND GeometryType({column}) <> 'POINT' AND NOT ST_IsValid({column})"""))
    if refuse:
        importer.refuse(connection, f"""
            SELECT row_number, '{label}' AS field,
                   'the polygon could not be repaired: nothing is left of it' AS reason
              FROM {STAGE} WHERE valid AND {column} IS NOT NULL AND ST_IsEmpty({column})""")
    else:
        connection.execute(text(f"""
            UPDATE {STAGE} SET {column} = ST_Multi({column})
             WHERE {column} IS NOT NULL AND NOT ST_IsEmpty({column})"""))


def check_duplicates(importer, connection) -> None:
    """Rows sharing an id: exact repeats load once (a warning); different rows with a
    made-up id load as separate places; different rows with the file's own id are
    refused, since which one is right cannot be told."""
    content = ", ".join(name for name, _ in importer.stage_columns() if name != "source_id")
    connection.execute(text(f"""
        CREATE TEMP TABLE import_duplicates ON COMMIT DROP AS
        WITH shared AS (
            SELECT source_id FROM {STAGE} WHERE valid
             GROUP BY source_id HAVING count(*) > 1
        ), rows AS (
            SELECT s.row_number, s.source_id,
                   md5(ROW({', '.join('s.' + c for c in content.split(', '))})::text) AS content
              FROM {STAGE} s JOIN shared USING (source_id) WHERE s.valid
        )
        SELECT row_number, source_id,
               min(row_number) OVER (PARTITION BY source_id, content) AS same_as,
               min(row_number) OVER (PARTITION BY source_id) AS first_row
          FROM rows"""))
    importer.warn(connection, """
        SELECT row_number, 'source_id' AS field,
               format('repeats row %s exactly; loaded once', same_as) AS reason
          FROM import_duplicates WHERE row_number > same_as""")
    connection.execute(text(f"""
        UPDATE {STAGE} s SET skipped = true FROM import_duplicates d
         WHERE s.row_number = d.row_number AND d.row_number > d.same_as"""))
    if importer.derived_ids:
        connection.execute(text("""
            CREATE TEMP TABLE import_variants ON COMMIT DROP AS
            SELECT row_number, first_row,
                   dense_rank() OVER (PARTITION BY source_id ORDER BY same_as) AS variant
              FROM import_duplicates WHERE row_number = same_as"""))
        importer.warn(connection, """
            SELECT row_number, 'source_id' AS field,
                   format('has the same name and location as row %s but other details '
                          'differ; loaded as a separate place', first_row) AS reason
              FROM import_variants WHERE variant > 1""")
        connection.execute(text(f"""
            UPDATE {STAGE} s SET source_id = s.source_id || '-' || v.variant
              FROM import_variants v WHERE s.row_number = v.row_number AND v.variant > 1"""))
    else:
        importer.refuse(connection, """
            SELECT d.row_number, 'source_id' AS field,
                   format('id %s is used by %s rows with different details (rows %s)',
                          d.source_id, count(*) OVER w,
                          string_agg(d.row_number::text, ', ') OVER w) AS reason
              FROM import_duplicates d
             WHERE d.row_number = d.same_as AND EXISTS (
                   SELECT 1 FROM import_duplicates o
                    WHERE o.source_id = d.source_id AND o.same_as <> d.same_as)
            WINDOW w AS (PARTITION BY d.source_id ORDER BY d.row_number
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)""")


def check_district(importer, connection) -> dict:
    """Rows more than the margin beyond the wards are left out (or kept with a warning,
    with `keep_outside`); rows within the margin but in no ward are loaded, named, and
    counted in no ward. Returns the counts this adds to the report."""
    has_wards = connection.execute(text(
        "SELECT EXISTS (SELECT 1 FROM areas WHERE kind = 'ward')")).scalar()
    if not has_wards:
        # No district to cut to: everything loads, and the officer is told why.
        importer.report.notes.append(
            "no wards are loaded, so there is no district to cut to: every row was kept, "
            "wherever it is (load the wards first: assetmap boundaries wards FILE, then "
            "import again to leave out places outside Kirklees)")
        return {}
    margin = float(importer.options.district_margin_m)
    params = {"margin": margin, "shown": f"{margin:,.0f}"}
    connection.execute(text("""
        CREATE TEMP TABLE import_district ON COMMIT DROP AS
        SELECT wards_bng, ST_Transform(wards_bng, 4326) AS wards,
               ST_Transform(ST_Buffer(wards_bng, :margin), 4326) AS margin
          FROM (SELECT ST_Union(geom_bng) AS wards_bng FROM areas WHERE kind = 'ward') u"""),
        params)
    # Point-in-polygon against one geometry, which PostGIS prepares once for the whole
    # file; the ward test uses the point assetmap_locate_areas() uses.
    connection.execute(text(f"""
        CREATE TEMP TABLE import_edge ON COMMIT DROP AS
        SELECT s.row_number, s.name, s.geom,
               NOT ST_Intersects(d.margin, s.geom) AS outside,
               NOT ST_Intersects(d.wards, CASE WHEN GeometryType(s.geom) = 'POINT' THEN s.geom
                                               ELSE ST_PointOnSurface(s.geom) END) AS no_ward
          FROM {STAGE} s, import_district d
         WHERE s.valid AND NOT s.skipped"""))
    distance = ("(SELECT ST_Distance(ST_Transform(e.geom, 27700), d.wards_bng) "
                "FROM import_district d)")
    counts = {}
    outside = f"""
        SELECT e.row_number, 'location' AS field,
               format('outside the district: %s km beyond the wards (the margin is %s m)',
                      round(({distance} / 1000)::numeric, 1), CAST(:shown AS text)) AS reason
          FROM import_edge e WHERE e.outside ORDER BY e.row_number"""
    if importer.options.keep_outside:
        kept = importer.warn(connection, outside, params)
        if kept:
            counts["kept outside"] = kept
            importer.report.notes.append(
                f"kept: {kept:,} outside Kirklees (more than {margin:,.0f} m beyond the "
                f"wards), in no ward (--keep-outside)")
    else:
        examples = connection.execute(text(f"""
            WITH left_out AS (
                UPDATE {STAGE} s SET skipped = true FROM import_edge e
                 WHERE s.row_number = e.row_number AND e.outside
             RETURNING s.row_number, s.name)
            SELECT count(*) OVER (), row_number, name FROM left_out
             ORDER BY row_number LIMIT 3""")).all()
        if examples:
            left_out = examples[0][0]
            counts["left out (outside)"] = left_out
            named = ", ".join(f"row {number:,} ({name})" for _, number, name in examples)
            importer.report.notes.append(
                f"left out: {left_out:,} outside Kirklees (more than {margin:,.0f} m beyond "
                f"the wards), e.g. {named}{', ...' if left_out > 3 else ''}; to load them "
                f"too, use --keep-outside (on the upload form: Keep places outside "
                f"Kirklees)")
    in_margin = importer.warn(connection, f"""
        SELECT e.row_number, 'location' AS field,
               format('in the margin, outside every ward: %s m beyond the wards, so no ward '
                      'counts it', to_char(round({distance}), 'FM999,990')) AS reason
          FROM import_edge e WHERE e.no_ward AND NOT e.outside
         ORDER BY e.row_number""")
    if in_margin:
        counts["in the margin (no ward)"] = in_margin
        names = connection.execute(text(
            "SELECT row_number, name FROM import_edge WHERE no_ward AND NOT outside "
            "ORDER BY row_number LIMIT 5")).all()
        named = "; ".join(f"row {number:,} ({name})" for number, name in names)
        importer.report.notes.append(
            f"in the margin, outside every ward: {in_margin:,}, loaded but counted in no "
            f"ward (within {margin:,.0f} m of the wards): {named}"
            f"{'; ...' if in_margin > len(names) else ''}")
    return counts
