"""What the layers refuse, and why: typed errors of their own, which mapping/errors.py
turns into RFC 9457 problem details (layers/ knows nothing of Flask or HTTP)."""
from __future__ import annotations


class QueryError(ValueError):
    """A request a layer cannot answer as asked: the parameter, and the reason in words
    for the person who asked (a 400 Bad Request over HTTP)."""

    def __init__(self, detail: str, *, parameter: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter
