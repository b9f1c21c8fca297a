"""Words and details: error summary and aria-describedby in every form, unambiguous French dates, plurals,
status badges on the case list, the focus ring's contrast."""

import datetime
import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from referrals.insight_views import _short_month
from referrals.models import Case
from tests.factories import CaseFactory, ReferralFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

CSS = (Path(__file__).resolve().parent.parent / "static" / "css" / "reseau.css").read_text()


# --- Error summary and errors tied to their fields ------------------------------------------------


def test_a_failed_submit_shows_a_focused_summary_linking_to_each_field(client_for):
    staff = UserFactory(worker=True)
    response = client_for(staff).post(
        reverse("partners:listing_edit"),
        {
            "capacity_status": "open",
            "phone": "abc",
            "email": "pas-une-adresse",
            "website": "",
            "opening_hours": "",
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*>', content).group(0)
    assert "autofocus" in summary and 'tabindex="-1"' in summary and 'role="alert"' in summary
    assert "2 erreurs à corriger" in content
    assert 'href="#id_phone"' in content and 'href="#id_email"' in content


def test_each_error_is_tied_to_its_field(client_for):
    staff = UserFactory(worker=True)
    content = (
        client_for(staff)
        .post(reverse("partners:listing_edit"), {"capacity_status": "open", "email": "pas-une-adresse"})
        .content.decode()
    )
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', content).group(0)
    described_by = re.search(r'aria-describedby="([^"]+)"', email_input).group(1).split()
    assert "id_email_error" in described_by
    assert 'aria-invalid="true"' in email_input
    for element_id in described_by:
        assert f'id="{element_id}"' in content  # every id it names exists


def test_errors_of_a_group_of_checkboxes_are_tied_to_their_fieldset(client_for):
    worker = UserFactory(worker=True)
    content = client_for(worker).post(reverse("referrals:case_create"), {"reference": "S-1"}).content.decode()
    assert 'id="id_needs" aria-describedby="id_needs_error"' in content
    assert 'id="id_needs_error"' in content
    assert 'href="#id_needs"' in content


def test_no_summary_before_any_submit(client_for):
    assert (
        "error-summary"
        not in client_for(UserFactory(worker=True)).get(reverse("referrals:case_create")).content.decode()
    )


def test_one_error_is_singular(client_for):
    content = (
        client_for(UserFactory(worker=True))
        .post(reverse("accounts:notification_settings"), {"notification_frequency": "jamais"})
        .content.decode()
    )
    assert "1 erreur à corriger" in content
    assert 'aria-describedby="id_notification_frequency_error"' in content


# --- Dates and plurals ----------------------------------------------------------------------------


def test_june_and_july_are_never_both_jui(client_for):
    worker = UserFactory(worker=True)
    paris = datetime.timezone(datetime.timedelta(hours=2))
    CaseFactory(service=worker.service, created_at=datetime.datetime(2026, 6, 5, 12, tzinfo=paris))
    CaseFactory(service=worker.service, created_at=datetime.datetime(2026, 7, 5, 12, tzinfo=paris))
    content = client_for(worker).get(reverse("referrals:case_list")).content.decode()
    assert "5 juin 2026" in content and "5 juillet 2026" in content
    assert not re.search(r"\bjui\b", content, re.IGNORECASE)


def test_no_template_uses_the_ambiguous_short_month():
    templates = Path(__file__).resolve().parent.parent / "templates"
    offenders = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.*")
        if re.search(r'\|date:"[^"]*[Mb]', path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("month", "label"), [(6, "juin 2026"), (7, "juil. 2026"), (2, "févr. 2026"), (5, "mai 2026")]
)
def test_chart_months_are_unambiguous(month, label):
    assert _short_month(datetime.date(2026, month, 1)) == label


@pytest.mark.parametrize(("days", "text"), [(1, "valable 1 jour ;"), (7, "valable 7 jours ;")])
def test_link_validity_days_agree_in_number(days, text):
    assert text in render_to_string(
        "partners/emails/_link_footer.txt",
        {"listing_url": "https://x", "link_days": days, "for_staff": False},
    )


# --- Case list: a badge per referral, readable on a phone ----------------------------------------


def test_case_list_shows_each_referrals_status_as_a_badge(client_for):
    worker = UserFactory(worker=True)
    case = CaseFactory(service=worker.service, reference="S-BADGES")
    ReferralFactory(case=case, service=ServiceFactory(name="Foyer Soleil"), to="accepted")
    ReferralFactory(case=case, service=ServiceFactory(name="CHRS Escale"), to="refused")
    ReferralFactory(
        case=case,
        service=ServiceFactory(name="Épicerie"),
        to="under_review",
        classification="off_convention",
        off_convention_reason="closer",
    )
    CaseFactory(service=worker.service, reference="S-VIDE")
    content = client_for(worker).get(reverse("referrals:case_list")).content.decode()
    assert 'Foyer Soleil <span class="badge badge--status-accepted">Acceptée</span>' in content
    assert 'CHRS Escale <span class="badge badge--status-refused">Refusée</span>' in content
    assert '<span class="badge badge--status-under_review">En cours d&#x27;étude</span>' in content
    assert "Hors convention" in content
    assert "Aucune orientation" in content
    # Every cell says what it holds when the header row is hidden on a phone.
    for label in ("Besoins : ", "Lieu : ", "Orientations : ", "Créée le "):
        assert f'<span class="table__label">{label}</span>' in content


def test_case_list_query_count_does_not_grow_with_referrals(client_for, django_assert_max_num_queries):
    worker = UserFactory(worker=True)
    client = client_for(worker)
    case = CaseFactory(service=worker.service)
    ReferralFactory(case=case, to="sent")
    client.get(reverse("referrals:case_list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("referrals:case_list"))
    for _ in range(3):
        other = CaseFactory(service=worker.service)
        for _ in range(3):
            ReferralFactory(case=other, to="accepted")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("referrals:case_list"))
    assert len(response.context["cases"]) == Case.objects.filter(service=worker.service).count() == 4


# --- The focus ring ------------------------------------------------------------------------------


def _luminance(hex_color):
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a, b):
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variable(name):
    return re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", CSS).group(1)


def _color(value):
    value = value.strip()
    return _variable(value[6:-1]) if value.startswith("var(--") else {"#fff": "#ffffff"}.get(value, value)


def test_focus_ring_has_at_least_3_to_1_against_every_background_it_is_drawn_on():
    ring = _color(re.search(r"^:focus-visible \{ outline: 3px solid ([^;]+);", CSS, re.M).group(1))
    header_ring = _color(
        re.search(r"^\.site-header :focus-visible \{ outline-color: ([^;]+);", CSS, re.M).group(1)
    )
    for background in (
        "#ffffff",
        _variable("bg"),
        _variable("grey-bg"),
        _variable("green-bg"),
        _variable("red-bg"),
    ):
        assert _contrast(ring, background) >= 3, background
    assert _contrast(header_ring, _variable("blue")) >= 3


def test_the_old_orange_ring_would_have_failed():
    assert _contrast("#f59f00", "#ffffff") < 3  # the check above is not vacuous
