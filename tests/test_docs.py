"""The docs keep up with the code: a setting or command missing from them fails a test."""
import re

from mapping.cli import main
from mapping.core.config import ENVIRONMENT_VARIABLES, PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"


def test_every_setting_is_documented():
    deploying = (DOCS / "deploying.md").read_text()
    missing = [name for name in ENVIRONMENT_VARIABLES if f"`{name}`" not in deploying]
    assert not missing, f"settings missing from docs/deploying.md: {missing}"


def _commands(group, prefix=""):
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, full + " ")
        else:
            yield full


def test_every_command_is_documented():
    text = (PROJECT_ROOT / "README.md").read_text() + "".join(
        path.read_text() for path in DOCS.glob("*.md"))
    missing = [name for name in _commands(main) if f"assetmap {name}" not in text
               and not re.search(r"`" + re.escape(name.split()[-1]) + r"\b", text)]
    assert not missing, f"commands missing from the docs: {missing}"


def test_readme_opens_with_the_two_commands():
    head = (PROJECT_ROOT / "README.md").read_text().splitlines()[:8]
    assert any(line.startswith("make run") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_readme_links_only_to_docs_that_exist():
    readme = (PROJECT_ROOT / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)]+)\)", readme)
    assert len(links) >= 7
    for link in links:
        path, _, anchor = link.partition("#")
        assert (PROJECT_ROOT / path).exists(), link
        if anchor:
            # GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.
            headings = re.findall(r"^#+ (.+)$", (PROJECT_ROOT / path).read_text(), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, link
