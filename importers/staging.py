"""Staging: rows go into a temporary table with PostgreSQL's COPY, streamed.

The rows are written as CSV into a bounded queue that a second thread feeds to
`COPY ... FROM STDIN` (psycopg 3's `cursor.copy()`), so Python reads and checks the file
while the server parses what came before; memory holds a few megabytes, never the whole file.
"""
from __future__ import annotations

import csv
import io
import queue
import threading
from typing import Self

CHUNK_CHARS = 1 << 20


def ewkt_point(x: float, y: float, srid: int) -> str:
    return f"SRID={srid};POINT({x!r} {y!r})"


def pg_array(items) -> str | None:
    """A text[] literal for COPY."""
    if items is None:
        return None
    return "{" + ",".join(
        '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items) + "}"


def pg_bool(value) -> str | None:
    return None if value is None else ("t" if value else "f")


class CopyWriter:
    """`with CopyWriter(dbapi_connection, table, columns) as copy: copy.write(row)`.

    Values are strings, numbers or None (NULL), never empty strings; each row a
    sequence in `columns` order.
    """

    def __init__(self, dbapi_connection, table: str, columns: list[str]):
        self.connection = dbapi_connection
        # CSV's NULL is an unquoted empty value: normalised values are never empty text.
        self.sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        self.chunks: queue.Queue = queue.Queue(maxsize=8)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._copy, name="copy", daemon=True)
        self.rows = 0

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def _copy(self) -> None:
        ended = False
        try:
            with self.connection.cursor() as cursor, cursor.copy(self.sql) as copy:
                while (chunk := self.chunks.get()) is not None:
                    copy.write(chunk)
                ended = True
        except BaseException as error:  # noqa: BLE001 - handed to the writing thread
            self.error = error
            # Drain until the writer's end mark, so a writer blocked on a full queue wakes
            # up and sees the error (a COPY refused at its end has had the mark already).
            while not ended and self.chunks.get() is not None:
                pass

    def write(self, row) -> None:
        self.writer.writerow(row)
        self.rows += 1
        if self.buffer.tell() >= CHUNK_CHARS:
            self._flush()

    def _flush(self) -> None:
        # A lone surrogate (JSON's "\ud800") cannot be UTF-8: it becomes "?".
        data = self.buffer.getvalue().encode("utf-8", "replace")
        self.buffer.seek(0)
        self.buffer.truncate()
        if data:
            self._put(data)

    def _put(self, item) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self._flush()
        finally:
            try:
                self.chunks.put(None, timeout=5)
            except queue.Full:
                pass
            self.thread.join()
        if self.error is not None and kind is None:
            raise self.error
