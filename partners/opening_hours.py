"""Opening hours in the OpenStreetMap ``opening_hours`` format (what data·inclusion publishes), in French.

The parser is opening-hours-py (README, Dependencies): it says whether a service is open at a given time
and when that changes, public holidays of France included. Text it cannot read (hours typed in words)
is shown as it is: free text stays possible.
"""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State

# Every service of the directory is in France (communes are INSEE codes): its hours are read in Paris time,
# with France's public holidays ("PH off").
SERVICE_TIME_ZONE = ZoneInfo("Europe/Paris")
SERVICE_COUNTRY = "FR"

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def french_time(moment):
    """9 h, 12 h 30, 0 h: the way French speakers write times."""
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def _french_day(moment, now):
    """ "aujourd'hui", "demain", "lundi" within the week, else "le 5 juin 2026"."""
    days = (moment.date() - now.date()).days
    if days == 0:
        return ""
    if days == 1:
        return "demain"
    if days < 7:
        return WEEKDAYS[moment.weekday()]
    return f"le {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def _when(moment, now):
    day = _french_day(moment, now)
    return f"{day} à {french_time(moment)}" if day else f"à {french_time(moment)}"


@dataclass(frozen=True)
class DayHours:
    days: str  # "lundi", "du lundi au vendredi"
    hours: str  # "9 h – 12 h, 14 h – 17 h", "fermé"


@dataclass(frozen=True)
class Hours:
    """What the service page shows: a status ("Ouvert maintenant · ferme à 17 h") and the week, or the raw text."""

    raw: str
    parsed: bool
    is_open: bool | None = None  # None: unknown (not parsed, or the expression says "unknown")
    status: str = ""
    week: list[DayHours] = field(default_factory=list)


def read_opening_hours(text, now=None):
    """Reads ``text`` at ``now`` (aware; default: the current time). Never raises: unreadable text comes back
    with ``parsed=False``, to be shown as typed."""
    text = (text or "").strip()
    if not text:
        return Hours(raw="", parsed=False)
    try:
        expression = OpeningHours(text, timezone=SERVICE_TIME_ZONE, country=SERVICE_COUNTRY)
    except (ParserError, ValueError):
        return Hours(raw=text, parsed=False)
    now = (now or datetime.datetime.now(tz=SERVICE_TIME_ZONE)).astimezone(SERVICE_TIME_ZONE)
    state, _comment = expression.state(now)
    change = expression.next_change(now)
    if change is not None:
        change = change.astimezone(SERVICE_TIME_ZONE)
    if state == State.OPEN:
        status = "Ouvert maintenant" + (f" · ferme {_when(change, now)}" if change else ", 24 h sur 24")
        is_open = True
    elif state == State.CLOSED:
        status = "Fermé maintenant" + (f" · ouvre {_when(change, now)}" if change else "")
        is_open = False
    else:
        status, is_open = "Horaires à confirmer auprès du service", None
    return Hours(raw=text, parsed=True, is_open=is_open, status=status, week=_week(expression, now))


def _week(expression, now):
    """The coming seven days from Monday to Sunday, consecutive days with the same hours grouped."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    by_weekday = {}
    for offset in range(7):
        day_start = start + datetime.timedelta(days=offset)
        day_end = day_start + datetime.timedelta(days=1)
        ranges = []
        for begin, end, state, comment in expression.intervals(day_start, day_end):
            if state != State.OPEN:
                continue
            begin, end = begin.astimezone(SERVICE_TIME_ZONE), end.astimezone(SERVICE_TIME_ZONE)
            if begin <= day_start and end >= day_end:
                span = "24 h sur 24"
            else:
                span = f"{french_time(begin)} – {'24 h' if end >= day_end else french_time(end)}"
            ranges.append(span + (f" ({comment})" if comment else ""))
        by_weekday[day_start.weekday()] = ", ".join(ranges) or "fermé"
    rows = []
    for weekday in range(7):
        hours = by_weekday[weekday]
        if rows and rows[-1][2] == hours and rows[-1][1] == weekday - 1:
            rows[-1][1] = weekday
        else:
            rows.append([weekday, weekday, hours])
    return [DayHours(days=_day_range(first, last), hours=hours) for first, last, hours in rows]


def _day_range(first, last):
    if first == last:
        return WEEKDAYS[first]
    if last == first + 1:
        return f"{WEEKDAYS[first]} et {WEEKDAYS[last]}"
    return f"du {WEEKDAYS[first]} au {WEEKDAYS[last]}"
