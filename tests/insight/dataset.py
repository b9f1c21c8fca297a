"""A small network whose figures are checked by hand (tests/insight, tests/browser/test_insight.py).

Network N has one convention in force; its members: the sender S1 (a CCAS), partners P1 (org O1),
P2 (org O2) and P3 (who receives nothing: dormant). X1 (org O3) and X2 (org O4) are outside. S1
sent 8 referrals last month (all in département 35, need "Logement"):

| # | to | classification | outcome | days to answer |
|---|----|----------------|---------|----------------|
| 1 | P1 | in | accepted | 1 |
| 2 | P1 | in | accepted | 3 |
| 3 | P1 | in | refused (full) | 8 |
| 4 | P2 | in | expired | – |
| 5 | X1 | off (closer) | accepted | 12 |
| 6 | X1 | off (closer) | sent | – |
| 7 | X2 | off (person's choice) | refused | 2 |
| 8 | X2 | no partner | sent | – |

The referrals are moved back to last month after their transitions, so the dataset rebuilds the
counts (``counts_rebuild``). Not counted: a referral by S2 (member of another network only) and one by S3 the day before it
joined N's convention.
"""

import datetime
from types import SimpleNamespace

from django.utils import timezone

from referrals.insight import add_months
from referrals.insight_counts import counts_rebuild
from referrals.models import Referral
from tests.factories import (
    CaseFactory,
    CommuneFactory,
    ConventionFactory,
    CoordinatorFactory,
    DomainFactory,
    MembershipFactory,
    NetworkFactory,
    OrganisationFactory,
    ReferralFactory,
    ServiceFactory,
)


def last_month_at(day, hour=10):
    first = add_months(timezone.localdate().replace(day=1), -1)
    return timezone.make_aware(datetime.datetime.combine(first.replace(day=day), datetime.time(hour)))


def make_referral(sender, target, *, classification, to, sent_day, answer_days=None, need, commune, **kwargs):
    case = CaseFactory(service=sender, commune=commune, needs=[need])
    referral = ReferralFactory(
        case=case, service=target, classification=classification, to=to, needs=[need], **kwargs
    )
    sent_at = last_month_at(sent_day)
    answered_at = sent_at + datetime.timedelta(days=answer_days) if answer_days is not None else None
    Referral.objects.filter(pk=referral.pk).update(
        sent_at=sent_at, answered_at=answered_at, created_at=sent_at
    )
    return referral


def build_network_data():
    housing = DomainFactory(code="logement", label="Logement")
    shelter = DomainFactory(code="logement--hebergement", label="Hébergement", parent=housing)
    commune = CommuneFactory(insee_code="35238", name="Rennes")
    network = NetworkFactory(name="Réseau N")
    other_network = NetworkFactory(name="Réseau M")
    convention = ConventionFactory(network=network, title="Convention N")
    other_convention = ConventionFactory(network=other_network)
    o1, o2, o3, o4 = (OrganisationFactory(name=f"Organisation {i}") for i in range(1, 5))
    s1 = ServiceFactory(name="CCAS S1")
    p1 = ServiceFactory(name="Partenaire P1", organisation=o1)
    p2 = ServiceFactory(name="Partenaire P2", organisation=o2)
    p3 = ServiceFactory(name="Partenaire P3")
    x1 = ServiceFactory(name="Extérieur X1", organisation=o3)
    x2 = ServiceFactory(name="Extérieur X2", organisation=o4)
    s2 = ServiceFactory(name="Autre réseau S2")
    s3 = ServiceFactory(name="Nouveau S3")
    for service in (s1, p1, p2, p3):
        MembershipFactory(convention=convention, service=service)
    MembershipFactory(convention=other_convention, service=s2)
    MembershipFactory(convention=convention, service=s3, joined_on=last_month_at(20).date())

    common = {"need": shelter, "commune": commune}
    make_referral(
        s1,
        p1,
        classification="in_convention",
        convention=convention,
        to="accepted",
        sent_day=2,
        answer_days=1,
        **common,
    )
    make_referral(
        s1,
        p1,
        classification="in_convention",
        convention=convention,
        to="accepted",
        sent_day=3,
        answer_days=3,
        **common,
    )
    make_referral(
        s1,
        p1,
        classification="in_convention",
        convention=convention,
        to="refused",
        sent_day=4,
        answer_days=8,
        **common,
    )
    make_referral(
        s1, p2, classification="in_convention", convention=convention, to="expired", sent_day=5, **common
    )
    make_referral(
        s1,
        x1,
        classification="off_convention",
        off_convention_reason="closer",
        to="accepted",
        sent_day=6,
        answer_days=12,
        **common,
    )
    make_referral(
        s1,
        x1,
        classification="off_convention",
        off_convention_reason="closer",
        to="sent",
        sent_day=7,
        **common,
    )
    make_referral(
        s1,
        x2,
        classification="off_convention",
        off_convention_reason="person_choice",
        to="refused",
        sent_day=8,
        answer_days=2,
        **common,
    )
    make_referral(s1, x2, classification="no_partner", to="sent", sent_day=9, **common)
    # Not the network's: a non-member's referral, and one sent the day before its sender joined.
    make_referral(s2, p1, classification="no_partner", to="sent", sent_day=10, **common)
    make_referral(s3, p1, classification="no_partner", to="sent", sent_day=19, **common)

    coordinator = CoordinatorFactory(networks=[network])
    # The referrals were moved back in time after their transitions counted them today.
    counts_rebuild()
    return SimpleNamespace(
        network=network,
        other_network=other_network,
        convention=convention,
        housing=housing,
        shelter=shelter,
        commune=commune,
        s1=s1,
        p1=p1,
        p2=p2,
        p3=p3,
        x1=x1,
        x2=x2,
        coordinator=coordinator,
        organisations=(o1, o2, o3, o4),
    )
