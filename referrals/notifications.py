"""Who is told what about a referral. Every e-mail leaves through the queue (reseau.mail).

- The receiving service (its own address and its staff's): sent, reminder, cancelled. Each address
  gets its own personal link to answer without an account (reseau.links); the e-mail itself carries
  no case detail beyond the sending service, the needs, the commune and the deadline.
- The sender (or, if they have left, their colleagues: the case belongs to the service): accepted,
  refused with its reason, under review, expired — in their daily summary if they chose one.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from reseau.links.models import LinkPurpose
from reseau.links.services import link_create
from reseau.mail.services import mail_queue

from .enums import ReferralStatus

RECEIVER_SUBJECTS = {
    "sent": "Nouvelle orientation de {sender} ({reference})",
    "reminder": "Rappel : une orientation attend votre réponse ({reference})",
    "cancelled": "Orientation annulée par {sender} ({reference})",
    "new_link": "Votre nouveau lien pour répondre à l'orientation {reference}",
}


def absolute_url(path):
    return settings.SITE_URL.rstrip("/") + path


def receiver_addresses(service):
    """The service's own address and its active staff's, without duplicates."""
    emails = {email.lower() for email in service.staff.filter(is_active=True).values_list("email", flat=True)}
    if service.email:
        emails.add(service.email.lower())
    return sorted(emails)


def sender_addresses(referral):
    sender = referral.sender
    if sender and sender.is_active:
        return [sender.email]
    return sorted(referral.case.service.staff.filter(is_active=True).values_list("email", flat=True))


def _answer_link(referral, email):
    _, token = link_create(
        purpose=LinkPurpose.REFERRAL_ANSWER, service=referral.service, referral=referral, email=email
    )
    return absolute_url(reverse("referrals:answer_link", args=[token]))


def notify_receiver(referral, event, *, emails=None):
    """E-mail the receiving service about ``event`` (a key of RECEIVER_SUBJECTS), one e-mail and one
    personal link per address. Call inside the transaction that made the change: links and e-mails
    are saved with it, and leave once it commits."""
    context = {
        "referral": referral,
        "sender": referral.case.service,
        "needs": sorted(need.label for need in referral.needs.all()),
        "commune": referral.case.commune,
        "deadline": referral.answer_deadline(),
        "link_days": settings.ACCESS_LINK_VALID_DAYS,
    }
    subject = RECEIVER_SUBJECTS[event].format(
        sender=referral.case.service.name, reference=referral.case.reference
    )
    for email in receiver_addresses(referral.service) if emails is None else emails:
        answer_url = _answer_link(referral, email) if referral.is_awaiting_answer else None
        mail_queue(
            subject=subject,
            body=render_to_string(
                f"referrals/emails/receiver_{event}.txt", {**context, "answer_url": answer_url}
            ),
            recipients=[email],
        )


def notify_sender(referral):
    """E-mail the sending side about the referral's new status (accepted, refused, under review, expired)."""
    if referral.status not in {
        ReferralStatus.ACCEPTED,
        ReferralStatus.REFUSED,
        ReferralStatus.UNDER_REVIEW,
        ReferralStatus.EXPIRED,
    }:
        return None
    return mail_queue(
        subject=f"Orientation {referral.get_status_display().lower()} : {referral.service.name} "
        f"({referral.case.reference})",
        body=render_to_string(
            "referrals/emails/sender_update.txt",
            {
                "referral": referral,
                "deadline": referral.answer_deadline(),
                "case_url": absolute_url(reverse("referrals:case_detail", args=[referral.case_id])),
                "now": timezone.now(),
            },
        ),
        recipients=sender_addresses(referral),
        digestible=True,
    )
