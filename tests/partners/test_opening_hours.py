"""Opening hours in OpenStreetMap's format, read in French at a fixed time (the clock is a parameter)."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from partners.opening_hours import french_time, read_opening_hours

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS_HOURS = "Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00"


def at(*args, tz=PARIS):
    return datetime.datetime(*args, tzinfo=tz)


def test_open_now_says_when_it_closes_today():
    hours = read_opening_hours(WEEKDAYS_HOURS, at(2026, 6, 5, 15, 0))  # a Friday, 15 h
    assert hours.parsed and hours.is_open
    assert hours.status == "Ouvert maintenant · ferme à 17 h"


def test_closed_at_lunch_says_when_it_opens_again():
    hours = read_opening_hours(WEEKDAYS_HOURS, at(2026, 6, 5, 12, 30))
    assert hours.is_open is False
    assert hours.status == "Fermé maintenant · ouvre à 14 h"


def test_closed_on_saturday_afternoon_opens_on_monday():
    hours = read_opening_hours(WEEKDAYS_HOURS, at(2026, 6, 6, 15, 0))
    assert hours.status == "Fermé maintenant · ouvre lundi à 9 h"


def test_closed_in_the_evening_opens_tomorrow():
    hours = read_opening_hours(WEEKDAYS_HOURS, at(2026, 6, 4, 19, 0))  # Thursday evening
    assert hours.status == "Fermé maintenant · ouvre demain à 9 h"


def test_the_clock_is_read_in_paris_time():
    # 15:30 UTC is 17:30 in Paris in June: closed, although 15:30 would be open.
    hours = read_opening_hours(WEEKDAYS_HOURS, at(2026, 6, 5, 15, 30, tz=datetime.UTC))
    assert hours.is_open is False
    # And in winter (UTC+1), 15:30 UTC is 16:30 in Paris: open until 17 h.
    assert read_opening_hours(WEEKDAYS_HOURS, at(2026, 12, 4, 15, 30, tz=datetime.UTC)).is_open


def test_french_public_holidays_count_when_the_hours_say_so():
    # 14 July 2026 is a Tuesday: "PH off" closes it.
    hours = read_opening_hours("Mo-Fr 09:00-17:00; PH off", at(2026, 7, 14, 10, 0))
    assert hours.is_open is False
    assert hours.status == "Fermé maintenant · ouvre demain à 9 h"


def test_the_week_is_written_in_french_with_days_grouped():
    hours = read_opening_hours(WEEKDAYS_HOURS, at(2026, 6, 5, 15, 0))
    assert [(row.days, row.hours) for row in hours.week] == [
        ("du lundi au vendredi", "9 h – 12 h, 14 h – 17 h"),
        ("samedi", "9 h – 12 h"),
        ("dimanche", "fermé"),
    ]


def test_comments_and_half_hours_are_kept():
    hours = read_opening_hours('Tu,Th 14:00-17:30 "sur rendez-vous"', at(2026, 6, 5, 15, 0))
    assert ("mardi", "14 h – 17 h 30 (sur rendez-vous)") in [(row.days, row.hours) for row in hours.week]


def test_always_open():
    hours = read_opening_hours("24/7", at(2026, 6, 5, 3, 0))
    assert hours.status == "Ouvert maintenant, 24 h sur 24"
    assert [(row.days, row.hours) for row in hours.week] == [("du lundi au dimanche", "24 h sur 24")]


@pytest.mark.parametrize(
    "text", ["Du lundi au vendredi de 9 h à 17 h.", "7 jours sur 7, 24 h sur 24.", "Mo-Fr 25:00"]
)
def test_free_text_is_kept_as_typed(text):
    hours = read_opening_hours(text, at(2026, 6, 5, 15, 0))
    assert not hours.parsed
    assert hours.raw == text
    assert hours.status == "" and hours.week == []


def test_no_hours():
    assert read_opening_hours("", at(2026, 6, 5, 15, 0)) == read_opening_hours(None)
    assert read_opening_hours("   ").raw == ""


@pytest.mark.parametrize(("hour", "minute", "text"), [(9, 0, "9 h"), (12, 30, "12 h 30"), (0, 5, "0 h 05")])
def test_french_time(hour, minute, text):
    assert french_time(datetime.time(hour, minute)) == text
