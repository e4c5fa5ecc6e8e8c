"""Volunteering opportunities from a file (CSV, JSON, or any format the other importers
read): one row is one way to give back, at a place or run by an organisation.

Column names follow the Volunteering Data Standard where it names a field; the common
alternatives are aliases (docs/importing.md has the table). A row names its place as a
service does (its number on the map, its id in its own file, or its name), or an
organisation that has a place. Its initiative is named by id or name ("Out and About",
"mentors"). Every contact is published, so a place's private e-mail or phone given as the
way to apply is left out with a warning; a row left with no way to apply is refused.

The key is (source, id column), or with no id column the title and the place, so
re-importing updates opportunities. A closing date in the past is loaded (the record is
kept) with a warning that it is not shown.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import text

from importers import schedules, values
from importers.base import STAGE, Importer, Options
from importers.fields import Field, column_notes, match_columns, read_fields
from importers.services import age
from importers.staging import pg_array, pg_bool
from layers.vds import SLOT
from layers.volunteering import COMMITMENT_WORDS

DAYS = schedules.DAYS


# The Volunteering Data Standard's `commitment` is free text ("One evening per week,
# 3-hour shift"): these words in it say which of the three kinds it is.
COMMITMENT_PHRASES = (
    ("one-off", re.compile(r"\b(one[- ]?off|once|one day|single (day|event)|on the day)\b")),
    ("flexible", re.compile(r"\b(flexible|whenever|any ?time|ad[- ]hoc|as and when)\b")),
    ("regular", re.compile(r"\b(per|a|each|every) (week|fortnight|month|evening|morning|"
                           r"afternoon|day)\b|\b(weekly|fortnightly|monthly|regular|"
                           r"ongoing)\b")),
)


def commitment(raw) -> str | None:
    """one-off, regular or flexible, from the words people use for them, or from the
    standard's free-text commitment ("Half a day per week" is regular)."""
    cell = values.text(raw)
    if cell is None:
        return None
    key = re.sub(r"[^a-z]", "", cell.lower())
    if key in COMMITMENT_WORDS:
        return COMMITMENT_WORDS[key]
    for kind, phrase in COMMITMENT_PHRASES:
        if phrase.search(cell.lower()):
            return kind
    raise values.Invalid(f"{cell!r} is not a time commitment: write one-off, regular or "
                         f"flexible (or words such as \"one evening per week\")")


def dbs(raw) -> bool | None:
    """yes/no, or the standard's requirements: a list holding DBSCheck ("DBS Check", or its
    IRI) means a check is needed."""
    try:
        return values.boolean(raw)
    except values.Invalid:
        items = values.text_list(raw) or []
        squashed = [re.sub(r"[^a-z]", "", item.lower().rsplit("/", 1)[-1]) for item in items]
        if any(item in ("dbscheck", "dbs", "dbsrequired") for item in squashed):
            return True
        if all(item in VDS_REQUIREMENTS for item in squashed):
            return False
        raise values.Invalid(f"{raw!r} is not yes or no, nor a list of the Volunteering Data "
                             f"Standard's requirements (such as DBSCheck)") from None


def hours(raw) -> float | None:
    value = values.number(raw, "number of hours")
    if value is not None and not 0 < value <= 80:
        raise values.Invalid(f"{value:g} is not a number of hours a week (more than 0, at "
                             f"most 80)")
    return value


def phone(raw) -> str | None:
    cell = values.text(raw)
    if cell is not None and len(re.sub(r"\D", "", cell)) < 7:
        raise values.Invalid(f"{cell!r} is not a telephone number")
    return cell


# The standard's other requirements, squashed (requirement.ttl): none of them is a DBS check.
VDS_REQUIREMENTS = {re.sub(r"[^a-z]", "", name.lower()) for name in (
    "IDCheck", "PhysicalStamina", "OutdoorWorkAbility", "PersonalPreparedness",
    "LocalRoadsFacilitiesKnowledge", "DiverseNeedsAwareness", "LocalSupportServicesAwareness",
    "PersonalEquipment", "TransportMobilityAssets", "SpecialistUsefulAssets", "none")}


def days_of(schedule: str | None, kind: str | None, starts: dt.date | None) -> list[str]:
    """The weekdays an opportunity happens on: a one-off's date, else its schedule's days
    (as opening hours are read, or the standard's week slots such as MondayAfternoon)."""
    if kind == "one-off" and starts is not None:
        return [DAYS[starts.weekday()]]
    found = {d[-2:] for rule in schedules.parse(schedule).rules for d in rule.byday}
    found |= {match.group(1)[:2].upper() for match in SLOT.finditer(schedule or "")}  # MondayMorning
    return [d for d in DAYS if d in found]


OPPORTUNITY_FIELDS = (
    Field("source_id", values.text, ("id", "opportunity_id", "ref", "reference", "identifier",
                                     "uid", "uuid"), column="source_id",
          help="the file's own id; re-importing updates it"),
    Field("title", values.text, ("name", "role", "opportunity", "opportunity_title",
                                 "role_title"), column="title", required=True),
    Field("description", values.text, ("what_you_will_do", "what_youll_do", "summary",
                                       "details", "about", "tasks"), column="description"),
    Field("place", values.text, ("place_id", "place_name", "location", "venue", "where"),
          column="place_ref", help="where you would help: its number, id or name"),
    Field("organisation", values.text, ("organisation_name", "organization",
                                        "organization_name", "provider", "run_by"),
          column="organisation", help="who runs it; used for the place when none is given"),
    Field("initiative", values.text, ("initiative_name", "programme", "program",
                                      "campaign"), column="initiative",
          help="Out and About, MENtors, ...: by name or id"),
    Field("commitment", commitment, ("time_commitment", "commitment_type", "frequency",
                                     "type_of_commitment", "role_commitment"),
          column="commitment",
          help="one-off, regular or flexible"),
    Field("hours_per_week", hours, ("hours", "hours_a_week", "time_per_week"),
          column="hours_per_week", sql_type="numeric"),
    Field("schedule", values.text, ("when", "times", "sessions", "schedule_text",
                                    "availability", "time", "session_time"),
          column="schedule_text"),
    Field("start_date", values.date, ("starts", "start", "date", "event_date", "starts_on"),
          column="starts_on", sql_type="date"),
    Field("closing_date", values.date, ("closes", "closing", "deadline",
                                        "application_deadline", "end_date", "closes_on",
                                        "publish_end", "publish_end_date"),
          column="closes_on", sql_type="date"),
    Field("minimum_age", age, ("min_age", "age_from", "minimum_volunteer_age",
                               "role_minimum_age"),
          column="minimum_age", sql_type="integer"),
    Field("dbs_check", dbs, ("dbs", "dbs_required", "dbs_check_required",
                                 "background_check", "requirement", "requirements"),
          column="dbs_check",
          sql_type="boolean"),
    Field("skills", values.lower_text_list, ("skill", "skills_wanted", "skills_needed",
                                             "skills_required"), column="skills",
          sql_type="text[]"),
    Field("accessibility", values.text, ("access", "accessibility_notes"),
          column="accessibility"),
    Field("apply_url", values.url, ("apply_link", "url", "link",
                                    "application_url", "website"), column="apply_url"),
    Field("apply_email", values.email, ("email", "contact_email", "e_mail"),
          column="apply_email", help="published: a public address only"),
    Field("apply_phone", phone, ("phone", "telephone", "contact_phone"), column="apply_phone",
          help="published: a public number only"),
)
FIELDS = {f.name: f for f in OPPORTUNITY_FIELDS}
# The table's columns a file can set, with the value an empty cell means.
STORED = {"title": None, "description": None, "commitment": "'flexible'",
          "hours_per_week": None, "schedule_text": None, "starts_on": None, "closes_on": None,
          "minimum_age": None, "dbs_check": "false", "skills": "'{}'", "accessibility": None,
          "apply_url": None, "apply_email": None, "apply_phone": None}
FORM_FIELDS = ("title", "description", "initiative", "commitment", "hours_per_week",
               "schedule", "start_date", "closing_date", "minimum_age", "dbs_check", "skills",
               "accessibility", "apply_url", "apply_email", "apply_phone")


def parse_form(form: dict) -> tuple[dict, list[str]]:
    """An opportunity as the editor's form gives it, read by the same parsers as a file:
    the opportunities table's values (column: value) and the problems, "field: reason"."""
    found, problems = {}, []
    for name in FORM_FIELDS:
        f = FIELDS[name]
        try:
            found[f.column] = f.parse(form.get(name))
        except values.Invalid as problem:
            problems.append(f"{name}: {problem}")
    if found.get("title") is None:
        problems.append("title: an opportunity needs a title")
    if not any(found.get(c) for c in ("apply_url", "apply_email", "apply_phone")):
        problems.append("apply_url: say how to apply: a link, an e-mail address or a "
                        "telephone number")
    initiative = found.pop("initiative", None)
    found["initiative_id"] = initiative.lower() if initiative else None
    found["commitment"] = found.get("commitment") or "flexible"
    found["dbs_check"] = bool(found.get("dbs_check"))
    found["skills"] = found.get("skills") or []
    found["days"] = days_of(found.get("schedule_text"), found["commitment"],
                            found.get("starts_on"))
    return found, problems


class OpportunityImporter(Importer):
    what = "opportunities"
    run_kind = "opportunities"

    def prepare(self, source) -> None:
        match = match_columns(source.columns, list(OPPORTUNITY_FIELDS), self.options.mapping,
                              source.truncated_names)
        if match.errors:
            return self.report.fail("; ".join(match.errors))
        self.columns = columns = match.columns
        if "title" not in columns:
            return self.report.fail(
                f"no column holds the opportunity's title (columns: "
                f"{', '.join(source.columns)}); name one with --map title=COLUMN")
        if "place" not in columns and "organisation" not in columns:
            return self.report.fail(
                "no column names the place or the organisation: an opportunity is shown "
                "where it happens (name one with --map place=COLUMN)")
        self.readers = [(f, columns[f.name]) for f in OPPORTUNITY_FIELDS if f.name in columns]
        self.derived_ids = "source_id" not in columns
        self.mapped = {f.name for f, _ in self.readers} - {"source_id"}
        names = [name for name, _ in self.stage_columns()]
        self.slots = {f.name: names.index(f.column) for f in OPPORTUNITY_FIELDS}
        self.days_slot = names.index("days")
        if self.derived_ids:
            self.report.notes.append(
                "the file has no id column, so each opportunity's id is made from its "
                "title and its place: a renamed one is loaded as new (use prune to remove "
                "the old)")
        self.report.notes.extend(column_notes(match))

    def stage_columns(self) -> list[tuple[str, str]]:
        return [(f.column, f.sql_type) for f in OPPORTUNITY_FIELDS] + [
            ("days", "text[]"), ("place_id", "bigint"), ("organisation_id", "uuid"),
            ("initiative_id", "text")]

    def normalise(self, number: int, row: dict) -> list | None:
        report = self.report
        found, refused = read_fields(report, number, row, self.readers)
        if found.get("title") is None:
            report.error(number, "title", "the title is empty")
            refused = True
        if found.get("place") is None and found.get("organisation") is None:
            report.error(number, "place", "say where it happens: give the place (its number, "
                         "id or name) or an organisation that has one")
            refused = True
        if self.derived_ids:
            source_id = None
            if found.get("title") is not None:
                key = f"{found['title']}|{found.get('place') or found.get('organisation')}"
                source_id = hashlib.sha1(key.lower().encode()).hexdigest()[:12]
        else:
            source_id = found.get("source_id")
            if source_id is None:
                report.error(number, "source_id", f"the id ({self.columns['source_id']}) is empty")
                refused = True
        found["source_id"] = source_id
        self.refused_id = source_id
        if refused:
            return None
        staged = [None] * len(self.stage_columns())
        for name, value in found.items():
            if value is None:
                continue
            sql_type = FIELDS[name].sql_type
            staged[self.slots[name]] = (pg_array(value) if sql_type == "text[]" else
                                        pg_bool(value) if sql_type == "boolean" else value)
        staged[self.days_slot] = pg_array(days_of(found.get("schedule"),
                                                  found.get("commitment"),
                                                  found.get("start_date")))
        return staged

    def refused_values(self, number: int, row: dict) -> list:
        staged = [None] * len(self.stage_columns())
        staged[self.slots["source_id"]] = self.refused_id
        return staged

    # --- set-based checks --------------------------------------------------------------

    def check(self, connection) -> None:
        self.refuse_repeated_ids(
            connection, " (the same title at the same place)" if self.derived_ids else "")
        if "place" in self.mapped:
            self.find_places(connection)
        if "organisation" in self.mapped:
            self._find_organisations(connection)
        if "initiative" in self.mapped:
            self.refuse(connection, f"""
                SELECT s.row_number, 'initiative' AS field,
                       'no initiative is called ' || quote_literal(s.initiative)
                       || ' (initiatives: ' || (SELECT string_agg(name || ' (' || id || ')',
                       ', ' ORDER BY name) FROM initiatives) || ')' AS reason
                  FROM {STAGE} s
                 WHERE s.valid AND s.initiative IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM initiatives i
                        WHERE i.id = lower(btrim(s.initiative))
                           OR lower(i.name) = lower(btrim(s.initiative)))""")
            connection.execute(text(f"""
                UPDATE {STAGE} s SET initiative_id = i.id FROM initiatives i
                 WHERE s.valid AND (i.id = lower(btrim(s.initiative))
                                    OR lower(i.name) = lower(btrim(s.initiative)))"""))
        self._private_contacts(connection)
        self.refuse(connection, f"""
            SELECT row_number, 'apply_url' AS field,
                   'say how to apply: a link, a public e-mail address or a public telephone '
                   || 'number' AS reason
              FROM {STAGE} WHERE valid AND apply_url IS NULL AND apply_email IS NULL
               AND apply_phone IS NULL""")
        self.warn(connection, f"""
            SELECT row_number, 'closing_date' AS field,
                   'it closed on ' || to_char(closes_on, 'FMDD FMMonth YYYY')
                   || ': it is kept but not shown' AS reason
              FROM {STAGE} WHERE valid AND closes_on < assetmap_london_today()""")

    def _find_organisations(self, connection) -> None:
        """A named organisation that the map knows (from a services file or the editor):
        by name, any source. With no place given, the organisation's place is used."""
        connection.execute(text(f"""
            UPDATE {STAGE} s SET organisation_id = o.id,
                   place_id = coalesce(s.place_id, o.place_id)
              FROM (SELECT DISTINCT ON (lower(name)) id, name, place_id FROM organisations
                     WHERE deleted_at IS NULL ORDER BY lower(name), place_id IS NULL, id) o
             WHERE s.valid AND s.organisation IS NOT NULL
               AND lower(o.name) = lower(btrim(s.organisation))"""))
        self.refuse(connection, f"""
            SELECT row_number, 'organisation' AS field,
                   CASE WHEN organisation_id IS NULL
                        THEN 'no organisation on the map is called '
                             || quote_literal(organisation) || '; give the place instead'
                        ELSE 'the organisation ' || quote_literal(organisation)
                             || ' has no place on the map; give the place where volunteers '
                             || 'would help' END AS reason
              FROM {STAGE}
             WHERE valid AND place_ref IS NULL AND organisation IS NOT NULL
               AND place_id IS NULL""")

    def _private_contacts(self, connection) -> None:
        """A place's private e-mail or phone is never published as the way to apply."""
        for column, private, public, what in (
                ("apply_email", "lower(p.email)", "p.email_public", "e-mail address"),
                ("apply_phone", "regexp_replace(p.phone, '\\D', '', 'g')", "p.phone_public",
                 "telephone number")):
            mine = (f"lower(s.{column})" if column == "apply_email"
                    else f"regexp_replace(s.{column}, '\\D', '', 'g')")
            for number, in connection.execute(text(f"""
                    UPDATE {STAGE} s SET {column} = NULL FROM places p
                     WHERE s.valid AND p.id = s.place_id AND NOT {public}
                       AND {private} = {mine} RETURNING s.row_number""")):
                self.report.warn(number, column, f"this is the place's private {what}, and "
                                 f"the way to apply is published; left out")

    # --- merge -------------------------------------------------------------------------

    def merge(self, connection, run_id: int) -> dict:
        params = {"source": self.source_name, "run": run_id}
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        stored = [FIELDS[name].column for name in sorted(self.mapped)
                  if FIELDS[name].column in STORED]
        written = ["place_id", "organisation_id"]
        if "initiative" in self.mapped:
            written.append("initiative_id")
        written += [*stored, "days"]
        values_sql = {c: (f"coalesce(s.{c}, {STORED[c]})" if STORED.get(c) else f"s.{c}")
                      for c in stored}
        values_sql.update(place_id="s.place_id", organisation_id="s.organisation_id",
                          initiative_id="s.initiative_id", days="coalesce(s.days, '{}')")
        target = ", ".join(f"t.{c}" for c in written)
        incoming = ", ".join(f"EXCLUDED.{c}" for c in written)
        rows = connection.execute(text(f"""
            INSERT INTO opportunities AS t (id, source, source_id, import_run_id,
                                            {', '.join(written)})
            SELECT assetmap_uuid('opportunity:' || :source || ':' || s.source_id), :source,
                   s.source_id, :run, {', '.join(values_sql[c] for c in written)}
              FROM {STAGE} s WHERE s.valid ORDER BY s.row_number
            ON CONFLICT (source, source_id) DO UPDATE
               SET ({', '.join(written)}, import_run_id, deleted_at, updated_at) =
                   ({incoming}, EXCLUDED.import_run_id, NULL, now())
             WHERE ({target}, t.deleted_at IS NULL) IS DISTINCT FROM ({incoming}, true)
            RETURNING (xmax = 0) AS inserted"""), params).scalars().all()
        counts["inserted"] = sum(rows)
        counts["updated"] = len(rows) - counts["inserted"]
        valid = connection.execute(text(
            f"SELECT count(*) FROM {STAGE} WHERE valid")).scalar_one()
        counts["unchanged"] = valid - len(rows)
        if self.options.prune:
            counts["pruned"] = connection.execute(text(f"""
                UPDATE opportunities SET deleted_at = now(), updated_at = now()
                 WHERE source = :source AND deleted_at IS NULL
                   AND source_id NOT IN (SELECT source_id FROM {STAGE}
                                          WHERE source_id IS NOT NULL)"""), params).rowcount
        if "schedule" in self.mapped:
            missed = connection.execute(text(f"""
                SELECT title, schedule_text FROM {STAGE}
                 WHERE valid AND schedule_text IS NOT NULL ORDER BY row_number""")).all()
            unread = [(title, part) for title, when in missed
                      for part in schedules.parse(when).not_understood]
            if (note := schedules.note(unread)) is not None:
                self.report.notes.append(note)
        return counts


def import_opportunities(engine, path, options: Options | None = None):
    """Load volunteering opportunities from `path`."""
    return OpportunityImporter(engine, path, options).run()
