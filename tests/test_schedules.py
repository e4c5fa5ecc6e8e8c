"""Opening hours read from the text people write into structured rules (importers/
schedules.py), with what was not understood kept and listed."""
from __future__ import annotations

import datetime as dt

import pytest

from importers.schedules import describe, parse

T = dt.time


@pytest.mark.parametrize("written, rules", [
    ("Mon-Fri 9-5", [("WEEKLY", ("MO", "TU", "WE", "TH", "FR"), T(9), T(17))]),
    ("Monday to Friday 9:00-17:00", [("WEEKLY", ("MO", "TU", "WE", "TH", "FR"), T(9), T(17))]),
    ("Tuesdays 10:00-12:00", [("WEEKLY", ("TU",), T(10), T(12))]),
    ("Tu,Th 10:00-14:00", [("WEEKLY", ("TU", "TH"), T(10), T(14))]),
    ("Mon, Wed and Fri 9.30am-3pm", [("WEEKLY", ("MO", "WE", "FR"), T(9, 30), T(15))]),
    ("Sat 10am - 1pm", [("WEEKLY", ("SA",), T(10), T(13))]),
    ("weekends 10-4", [("WEEKLY", ("SA", "SU"), T(10), T(16))]),
    ("daily 8am-8pm", [("WEEKLY", ("MO", "TU", "WE", "TH", "FR", "SA", "SU"), T(8), T(20))]),
    ("Wednesdays 1-3", [("WEEKLY", ("WE",), T(13), T(15))]),
    # The closing time's pm holds for an opening time written without one.
    ("Mondays 1-3pm", [("WEEKLY", ("MO",), T(13), T(15))]),
    ("Thursday 6-7pm", [("WEEKLY", ("TH",), T(18), T(19))]),
    ("Tue 9-5pm", [("WEEKLY", ("TU",), T(9), T(17))]),
    ("Wed 11-1pm", [("WEEKLY", ("WE",), T(11), T(13))]),
    ("Fri-Mon 10-2", [("WEEKLY", ("MO", "FR", "SA", "SU"), T(10), T(14))]),
    ("1st Sat of the month", [("MONTHLY", ("1SA",), None, None)]),
    ("First Tuesday of the month 10am-12pm", [("MONTHLY", ("1TU",), T(10), T(12))]),
    ("last Friday of each month 7pm-9pm", [("MONTHLY", ("-1FR",), T(19), T(21))]),
    ("2nd and 4th Wed of the month 13:00-15:00", [("MONTHLY", ("2WE", "4WE"), T(13), T(15))]),
    ("Mon 9-12; Wed 1-4", [("WEEKLY", ("MO",), T(9), T(12)), ("WEEKLY", ("WE",), T(13), T(16))]),
    ("Mon 9-12, Wed 1-4", [("WEEKLY", ("MO",), T(9), T(12)), ("WEEKLY", ("WE",), T(13), T(16))]),
])
def test_common_forms_are_read_as_rules(written, rules):
    parsed = parse(written)
    assert parsed.not_understood == []
    assert [(r.freq, r.byday, r.opens_at, r.closes_at) for r in parsed.rules] == rules


def test_bank_holidays_are_an_exception_not_a_failure():
    parsed = parse("Mon-Fri 10:00-14:00, closed bank holidays")
    assert parsed.closed_on_bank_holidays and not parsed.not_understood
    assert len(parsed.rules) == 1


@pytest.mark.parametrize("written", ["By arrangement", "Thursday evenings", "Mon 9-25",
                                     "Tuesdays 12:00-10:00", "Ring first"])
def test_what_is_not_understood_is_kept_as_written(written):
    parsed = parse(written)
    assert parsed.rules == [] and parsed.not_understood == [written]


def test_a_text_keeps_the_parts_it_understood_and_lists_the_rest():
    parsed = parse("Tuesdays 10:00-12:00; school holidays by arrangement")
    assert [r.byday for r in parsed.rules] == [("TU",)]
    assert parsed.not_understood == ["school holidays by arrangement"]


def test_rules_say_when_they_are_open_in_plain_words():
    [rule] = parse("1st Thu of the month 12:00-14:00").rules
    assert describe(rule) == "The first Thursday of the month, 12:00 to 14:00"
    assert rule.covers("TH") and rule.covers("TH", T(12, 30)) and not rule.covers("TH", T(14))
    assert not rule.covers("FR")
