"""The structure docs/architecture.md describes, checked on the source: the kinds of place
are written in one module, and the libraries (layers/, importers/) do not reach up into
the app (mapping/) or Flask."""
import ast
import re

import pytest

from mapping.core.config import PROJECT_ROOT

KIND_IDS = re.compile(r"\b(community_asset|transferred_building|mutual_aid_group)s?\b")


def python_files(*folders):
    for folder in folders:
        yield from sorted((PROJECT_ROOT / folder).rglob("*.py"))


def imported_modules(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", ["layers", "importers"])
def test_the_libraries_import_neither_the_app_nor_flask(folder):
    reaching_up = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            name for name in imported_modules(path)
            if name.split(".")[0] in ("mapping", "flask", "werkzeug"))
        for path in python_files(folder)}
    assert not {path: names for path, names in reaching_up.items() if names}


def test_the_kind_ids_are_written_only_in_the_kind_registry():
    written = {
        str(path.relative_to(PROJECT_ROOT))
        for path in python_files("mapping", "layers", "importers")
        if "migrations" not in path.parts and KIND_IDS.search(path.read_text())}
    assert written == {"layers/kinds.py"}


SQL = re.compile(r"\b(SELECT|INSERT INTO|DELETE FROM|CREATE DATABASE|DROP DATABASE|SHOW)\b "
                 r"|\bUPDATE [a-z_]+ (?:[a-z] )?SET\b")


def test_three_modules_of_the_app_hold_sql_and_no_route_module_does():
    holding = {str(path.relative_to(PROJECT_ROOT)) for path in python_files("mapping")
               if "migrations" not in path.parts and SQL.search(path.read_text())}
    routes = {str(path.relative_to(PROJECT_ROOT)) for path in python_files("mapping")
              if "Blueprint(" in path.read_text()}
    assert holding == {"mapping/queries.py", "mapping/staff/store.py", "mapping/core/db.py"}
    assert not holding & routes
