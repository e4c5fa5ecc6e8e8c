"""The import report in the upload form's words.

The importers speak to the command line: their notes and problems name its flags
(`--prune`, `--crs EPSG:27700`, `--map name=COLUMN`). On the web those are the form's
controls, so each flag the reports can name is said here once, as the control that does
the same; the report's own advice (`Report.advice()`) is worded here from its structure.
The form's labels come from CONTROLS too, so advice and form always agree."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from importers.report import Report, rows_phrase

CONTROLS = {
    "dry_run": "Dry run: check and report, write nothing",
    "skip_invalid": "Load the good rows even if some rows have problems",
    "prune": "Remove this source's records that the file no longer has",
    "keep_outside": "Keep places outside Kirklees",
    "crs": "Coordinates are in",
}
CRS_CHOICES = {"": "As the file says", "EPSG:27700": "British National Grid (EPSG:27700)",
               "EPSG:4326": "Latitude and longitude (EPSG:4326)"}
BNG = CRS_CHOICES["EPSG:27700"]


def _q(name: str) -> str:
    return f"“{CONTROLS[name]}”"


# (pattern, the form's words), tried in order: the specific phrasings first.
REWRITES = [
    (r"use --keep-outside \(on the upload form: [^)]*\)", f"tick {_q('keep_outside')}"),
    (r"\(--keep-outside\)", f"({_q('keep_outside')})"),
    (r"--keep-outside", _q("keep_outside")),
    (r"use --prune to remove", f"tick {_q('prune')} to remove"),
    (r"--prune", _q("prune")),
    (r"\(--skip-invalid\)", f"({_q('skip_invalid')})"),
    (r"--skip-invalid", _q("skip_invalid")),
    (r"run again with --crs EPSG:27700", f"choose “{BNG}” under {_q('crs')} and try again"),
    (r"add --crs, e\.g\. --crs EPSG:27700", f"choose it under {_q('crs')}"),
    (r"is --crs right\?", f"is {_q('crs')} right?"),
    (r"--crs (EPSG:\d+) overrides", rf"the choice under {_q('crs')} (\1) overrides"),
    (r"--crs", _q("crs")),
    (r"(?:with )?--map (\w+)=COLUMN(?: \.\.\.)?", r"by calling its column “\1” in the file"),
    (r"or give --encoding", "then choose it again"),
    (r"load the wards first: assetmap boundaries wards FILE, then",
     "an administrator loads the wards first, then you"),
    (r"add --format \(([^)]*)\)", r"give the file the ending of its format (\1)"),
    (r"use --format geojson", "give it the ending .geojson"),
]
_COMPILED = [(re.compile(pattern), words) for pattern, words in REWRITES]


def for_form(message: str | None) -> str | None:
    """`message` with each command-line flag it names said as the form's control."""
    if not message:
        return message
    for pattern, words in _COMPILED:
        message = pattern.sub(words, message)
    return message


COUNT_NAMES = {"inserted": "inserted", "updated": "updated", "unchanged": "unchanged",
               "pruned": "removed"}


@dataclass
class WebReport:
    """What the report page and the upload form show of one run."""
    heading: str
    advice: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts_heading: str | None = None
    counts: list[tuple[str, int]] = field(default_factory=list)
    good_rows: int = 0
    # What the follow-up form offers: "import" (the whole file), "good-rows" or None.
    offer: str | None = None


def web_report(report: Report, *, asked_skip: bool | None = None) -> WebReport:
    """The report worded for the web. `asked_skip`: whether the editor ticked
    `skip_invalid` (a web dry run always counts what the good rows would do)."""
    asked_skip = report.skip_invalid if asked_skip is None else asked_skip
    good = max(report.rows - report.invalid, 0)
    rows = rows_phrase(report.invalid)
    notes = [for_form(note) for note in report.notes]
    if report.fatal:
        return WebReport("Nothing was written: the file cannot be imported",
                         [for_form(report.fatal)], notes)
    # The merge's own counts first, in their order (a stored report's come back sorted).
    ordered = [*(name for name in COUNT_NAMES if name in report.counts),
               *(name for name in report.counts if name not in COUNT_NAMES)]
    counts = [(COUNT_NAMES.get(name, name), report.counts[name]) for name in ordered]
    if report.status == "committed":
        advice = ([f"{rows['rows']} with problems {rows['was']} left out, as asked."]
                  if report.invalid else [])
        return WebReport("Imported", advice, notes, "What was written", counts, good)
    if report.status == "dry-run":
        web = WebReport("Dry run: nothing was written", [], notes, counts=counts,
                        good_rows=good)
        if report.invalid and not asked_skip:
            web.advice.append(
                f"{rows['rows']} {rows['has']} problems: as the file stands nothing would be "
                f"written, since an import is all or nothing. Fix them and choose the file "
                f"again, or import just the good rows.")
            web.counts_heading = f"If you import just the {good:,} good rows"
            web.offer = "good-rows"
        elif report.invalid:
            web.advice.append(f"{rows['rows']} with problems would be left out, as asked.")
            web.counts_heading = f"What would happen to the {good:,} good rows"
            web.offer = "good-rows"
        else:
            web.counts_heading = "What would happen"
            web.offer = "import"
        return web
    web = WebReport("Nothing was written", [], notes, good_rows=good)
    for advice in report.advice():
        if advice.what == "fix-or-skip":
            web.advice.append(
                f"{rows['rows']} {rows['has']} problems, so nothing was written. Fix them and "
                f"choose the file again, or import just the good rows.")
            web.offer = "good-rows" if good else None
    return web
