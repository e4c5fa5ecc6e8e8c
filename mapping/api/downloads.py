"""Whole-layer downloads for GIS teams and the map: GeoJSON and CSV, streamed from a
server-side cursor in one snapshot, so memory stays flat whatever the layer's size."""
from __future__ import annotations

import json

from layers.crs import legacy_crs_member
from layers.query import check_known, parse_query
from layers.sql import LayerSQL
from mapping.api.feed_http import (
    GEOJSON,
    ApiRequest,
    ClosingIterator,
    check_codes,
    is_fresh,
    layer_or_404,
    licence_headers,
    not_modified,
    settings,
    validators,
)
from mapping.core import db

DOWNLOAD_PARAMETERS = {"bbox", "bbox-crs", "crs", "datetime", "properties"}
# Rows fetched from the server-side cursor at a time: memory stays flat whatever the size.
STREAM_ROWS = 2000
CSV_MEDIA_TYPE = "text/csv; charset=utf-8; header=present"


def download(api: ApiRequest, layer_id: str, fmt: str):
    """The whole layer (or what the filters keep) as one GeoJSON or CSV file, streamed
    from a server-side cursor as PostgreSQL writes it."""
    layer = layer_or_404(layer_id)
    check_known(api.args, DOWNLOAD_PARAMETERS | set(layer.filters))
    query = parse_query(layer, api.args, paging=False,
                        max_bbox_area_km2=settings().max_bbox_area_km2)
    statement = LayerSQL(layer, query)
    connection = db.read_engine().connect()
    try:
        # One snapshot for the version, the checks and every row streamed.
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        row = statement.known_codes().execute(connection).mappings().one()
        check_codes(row, query)
        if api.conditional and is_fresh(api, row["version"], row["changed_at"], fmt):
            connection.close()
            return not_modified(api, row["version"], row["changed_at"], fmt)
        rows = statement.geojson_rows() if fmt == "geojson" else statement.csv_rows()
        result = connection.execution_options(stream_results=True, yield_per=STREAM_ROWS) \
            .execute(rows.clause(), rows.params)
    except BaseException:
        connection.close()
        raise

    def close():
        result.close()
        connection.close()

    s = settings()
    if fmt == "geojson":
        head = json.dumps({"type": "FeatureCollection", "name": layer.id,
                           **legacy_crs_member(query.crs),
                           "attribution": s.data_attribution, "licence": s.data_licence},
                          ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":['
        chunks = _joined(result, head, "]}\n", ",")
        content_type = GEOJSON
    else:
        head = "\ufeff" + ",".join(statement.csv_header()) + "\r\n"
        chunks = _joined(result, head, "", "\r\n", trailing=True)
        content_type = CSV_MEDIA_TYPE
    headers = {**validators(row["version"], row["changed_at"], api, fmt), **licence_headers(),
               "Content-Type": content_type, "Content-Crs": f"<{query.crs.uri}>",
               "Content-Disposition": f'attachment; filename="{layer.id}.{fmt}"'}
    return headers, 200, ClosingIterator(chunks, close)


def _joined(result, head: str, tail: str, separator: str, trailing: bool = False):
    """Rows of text joined by `separator` between `head` and `tail`, a batch at a time."""
    yield head.encode()
    first = True
    for batch in result.partitions(STREAM_ROWS):
        text = separator.join(r[0] for r in batch)
        if trailing:
            yield (text + separator).encode()
        else:
            yield (text if first else separator + text).encode()
        first = False
    yield tail.encode()
