"""What an import did: counts and problems, for the CLI to print, the web upload to show
and the tests to assert on."""
from __future__ import annotations

from dataclasses import dataclass, field

# Problems kept in full; beyond this only counted, so a broken million-row file cannot
# exhaust memory. The report says how many were left out.
KEEP_PROBLEMS = 10_000


@dataclass(frozen=True)
class Problem:
    row: int | None          # 1 = the first data row (a CSV's header is not counted)
    field: str | None
    reason: str
    severity: str = "error"  # "error": the row is not loaded; "warning": loaded, but look

    def line(self) -> str:
        where = f"row {self.row:,}" if self.row is not None else "file"
        return f"{self.severity:7} {where:>11}  {self.field or '-':14} {self.reason}"


@dataclass(frozen=True)
class Advice:
    """What the officer can do next, said apart from its wording: the CLI speaks of its
    flags (`Report.lines`), the upload form of its own controls.
    `what`: "fix-or-skip" (rows have problems, so nothing was written) or "skipped" (rows
    with problems were left out, as asked)."""
    what: str
    count: int


CLI_ADVICE = {
    "fix-or-skip": "{rows} {has} problems, so nothing was written. Fix them and run again, "
                   "or add --skip-invalid to load the other rows.",
    "skipped": "{rows} with problems {was} left out (--skip-invalid).",
}


def rows_phrase(count: int) -> dict:
    """The words advice about `count` rows is made of."""
    return {"rows": "1 row" if count == 1 else f"{count:,} rows",
            "has": "has" if count == 1 else "have", "was": "was" if count == 1 else "were"}


@dataclass
class Report:
    """Counts and problems of one import run."""
    what: str                          # e.g. "mutual-aid", "wards", "deprivation"
    path: str | None = None
    source: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    status: str = "running"            # committed, failed, dry-run
    run_id: int | None = None
    rows: int = 0
    counts: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    errors: int = 0                    # error problems (a row may have several)
    warnings: int = 0
    invalid: int = 0                   # rows refused because of an error
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    fatal: str | None = None           # a problem with the whole file: nothing was read
    numbering: str = "row 1 is the first row after the header"

    def error(self, row, field_name, reason) -> None:
        self._add(Problem(row, field_name, reason, "error"))
        self.errors += 1

    def warn(self, row, field_name, reason) -> None:
        self._add(Problem(row, field_name, reason, "warning"))
        self.warnings += 1

    def _add(self, problem: Problem) -> None:
        if len(self.problems) < KEEP_PROBLEMS:
            self.problems.append(problem)

    def fail(self, reason: str) -> None:
        self.fatal = reason
        self.status = "failed"

    @property
    def ok(self) -> bool:
        """True when the run did what was asked (a dry run counts when nothing was wrong)."""
        if self.fatal or self.status == "failed":
            return False
        return self.status == "committed" or (self.status == "dry-run" and (
            self.skip_invalid or not self.invalid))

    def summary(self) -> str:
        """One line, always printed."""
        counts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items())
        if self.fatal:
            state = "FAILED"
        elif self.status == "failed":
            state = "NOTHING WRITTEN"
        elif self.status == "dry-run":
            state = "dry run, nothing written"
        else:
            state = "done"
        run = f", run {self.run_id}" if self.run_id else ""
        parts = [f"{self.what}: {state}"]
        if not self.fatal:
            parts.append(f"{self.rows:,} rows read")
            if counts:
                parts.append(("would be " if self.status == "dry-run" else "") + counts)
            parts.append(f"{self.invalid:,} invalid, {self.warnings:,} "
                         f"{'warning' if self.warnings == 1 else 'warnings'}")
        return "; ".join(parts) + f" ({self.seconds:.1f} s{run})"

    def advice(self) -> list[Advice]:
        """What to do about the rows with problems (none after a fatal problem)."""
        if self.fatal or not self.invalid:
            return []
        if self.status == "failed":
            return [Advice("fix-or-skip", self.invalid)]
        if self.skip_invalid:
            return [Advice("skipped", self.invalid)]
        return []

    def hidden_problems(self, limit: int) -> int:
        """How many problems a listing of the first `limit` leaves out."""
        return max(0, self.errors + self.warnings - min(max(limit, 0), len(self.problems)))

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.severity != "error", p.row or 0))

    def lines(self, limit: int = 20) -> list[str]:
        """The report as text lines: summary, what to do, notes, then problems by row."""
        out = [self.summary()]
        if self.fatal:
            out.append(f"  {self.fatal}")
            return out
        out.extend("  " + CLI_ADVICE[a.what].format(**rows_phrase(a.count))
                   for a in self.advice())
        out.extend(f"  {note}" for note in self.notes)
        problems = self.sorted_problems()
        if problems and limit > 0:
            out.append(f"  {self.numbering}")
            for problem in problems[:limit]:
                out.append("  " + problem.line())
        hidden = self.hidden_problems(limit)
        if hidden > 0:
            out.append(f"  ... and {hidden:,} more {'problem' if hidden == 1 else 'problems'} "
                       "(all of them: --problems FILE, or the import_runs table)")
        return out

    def as_dict(self, limit: int = 1000) -> dict:
        """For import_runs.report and the web upload."""
        return _storable({
            "what": self.what, "path": self.path, "source": self.source,
            "status": self.status, "dry_run": self.dry_run, "skip_invalid": self.skip_invalid,
            "rows": self.rows, "counts": self.counts, "invalid": self.invalid,
            "errors": self.errors, "warnings": self.warnings, "numbering": self.numbering,
            "notes": self.notes, "fatal": self.fatal, "seconds": round(self.seconds, 3),
            "problems": [{"row": p.row, "field": p.field, "reason": p.reason,
                          "severity": p.severity} for p in self.problems[:limit]],
            "problems_left_out": max(
                0, self.errors + self.warnings - min(limit, len(self.problems))),
        })


def from_dict(stored: dict, run_id: int | None = None) -> Report:
    """The report again from `Report.as_dict()` (import_runs.report), for its page."""
    problems = [Problem(p.get("row"), p.get("field"), p.get("reason", ""),
                        p.get("severity", "error")) for p in stored.get("problems", [])]
    errors = stored.get("errors")
    if errors is None:  # stored before the count was kept
        errors = sum(p.severity == "error" for p in problems)
    report = Report(stored.get("what", ""), stored.get("path"), source=stored.get("source"),
                    dry_run=bool(stored.get("dry_run")),
                    skip_invalid=bool(stored.get("skip_invalid")),
                    status=stored.get("status", "failed"), run_id=run_id,
                    rows=stored.get("rows", 0), counts=dict(stored.get("counts") or {}),
                    problems=problems, errors=errors, warnings=stored.get("warnings", 0),
                    invalid=stored.get("invalid", 0), notes=list(stored.get("notes") or []),
                    seconds=stored.get("seconds", 0.0), fatal=stored.get("fatal"))
    if stored.get("numbering"):
        report.numbering = stored["numbering"]
    return report


def _storable(value):
    """Text PostgreSQL's jsonb accepts: no NUL, no lone surrogates (from JSON's \\ud800)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def write_problems(report: Report, path) -> int:
    """Every kept problem as a CSV an officer can open in a spreadsheet."""
    import csv

    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "severity", "field", "reason"])
        for problem in sorted(report.problems, key=lambda p: (p.row or 0, p.severity)):
            writer.writerow([problem.row or "", problem.severity, problem.field or "",
                             problem.reason])
    return len(report.problems)
