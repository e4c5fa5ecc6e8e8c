"""Staging rows with COPY through psycopg 3: every row arrives as written, in chunks, and a
row the server refuses fails the load instead of hanging it."""
import psycopg
import pytest
from sqlalchemy import text

from importers.staging import CHUNK_CHARS, CopyWriter


def stage(engine, rows):
    with engine.connect() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE staged (n int, name text, tags text[])"))
        with CopyWriter(connection.connection.dbapi_connection, "staged",
                        ["n", "name", "tags"]) as copy:
            for row in rows:
                copy.write(row)
        found = connection.execute(text(
            "SELECT count(*), sum(n), max(name) FILTER (WHERE n = 7), "
            "count(*) FILTER (WHERE name IS NULL) FROM staged")).one()
        connection.rollback()
    return copy.rows, found


def test_many_chunks_of_rows_arrive_whole(engine):
    rows = [(n, None if n % 1000 == 0 else f'Café "{n}", Batley', "{a,b}") for n in range(1, 200_001)]
    assert sum(len(str(row)) for row in rows) > 3 * CHUNK_CHARS
    written, (count, total, seventh, nulls) = stage(engine, rows)
    assert written == count == 200_000
    assert total == 200_000 * 200_001 // 2
    assert seventh == 'Café "7", Batley'
    assert nulls == 200


def test_a_row_the_server_refuses_fails_the_load(engine):
    rows = [(n, "fine", None) for n in range(1, 1000)] + [("not a number", "bad", None)]
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        stage(engine, rows)
