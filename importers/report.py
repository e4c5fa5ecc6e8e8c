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

    def lines(self, limit: int = 20) -> list[str]:
        """The report as text lines: summary, what to do, notes, then problems by row."""
        out = [self.summary()]
        if self.fatal:
            out.append(f"  {self.fatal}")
            return out
        rows = "1 row" if self.invalid == 1 else f"{self.invalid:,} rows"
        if self.status == "failed" and self.invalid:
            out.append(f"  {rows} {'has' if self.invalid == 1 else 'have'} problems, so nothing "
                       "was written. Fix them and run again, or add --skip-invalid to load the "
                       "other rows.")
        elif self.invalid and self.skip_invalid:
            out.append(f"  {rows} with problems {'was' if self.invalid == 1 else 'were'} left out "
                       "(--skip-invalid).")
        out.extend(f"  {note}" for note in self.notes)
        problems = sorted(self.problems, key=lambda p: (p.severity != "error", p.row or 0))
        if problems and limit > 0:
            out.append(f"  {self.numbering}")
            for problem in problems[:limit]:
                out.append("  " + problem.line())
        hidden = self.errors + self.warnings - min(max(limit, 0), len(problems))
        if hidden > 0:
            out.append(f"  ... and {hidden:,} more {'problem' if hidden == 1 else 'problems'} "
                       "(all of them: --problems FILE, or the import_runs table)")
        return out

    def as_dict(self, limit: int = 1000) -> dict:
        """For import_runs.report and the web upload."""
        return _storable({
            "what": self.what, "path": self.path, "source": self.source,
            "status": self.status, "dry_run": self.dry_run, "rows": self.rows,
            "counts": self.counts, "invalid": self.invalid, "warnings": self.warnings,
            "notes": self.notes, "fatal": self.fatal, "seconds": round(self.seconds, 3),
            "problems": [{"row": p.row, "field": p.field, "reason": p.reason,
                          "severity": p.severity} for p in self.problems[:limit]],
            "problems_left_out": max(
                0, self.errors + self.warnings - min(limit, len(self.problems))),
        })


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
