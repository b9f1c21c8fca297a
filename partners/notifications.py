"""E-mails about a service's listing. Every e-mail leaves through the queue (reseau.mail).

Personal listing links (reseau.links, ``LinkPurpose.SERVICE_LISTING``) go to the service's own
address only — the address of the directory — never shown on screen; its staff, who have an
account, get the address of the page they update it from once logged in.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from reseau.links.models import LinkPurpose
from reseau.links.services import link_create
from reseau.mail.services import mail_queue

LINK_SUBJECTS = {
    "requested": "Votre lien pour mettre à jour la fiche « {service} » sur Réseau",
    "renewed": "Votre nouveau lien pour mettre à jour la fiche « {service} »",
    "reminder": "Votre fiche « {service} » sur Réseau est-elle toujours exacte ?",
    "error_report": "Une erreur est signalée sur votre fiche « {service} »",
    "email_changed": "L'adresse de votre fiche « {service} » a été modifiée",
}


def absolute_url(path):
    return settings.SITE_URL.rstrip("/") + path


def listing_link_url(service, email):
    """A new personal link to update ``service``'s listing, for ``email`` (to be e-mailed only)."""
    _, token = link_create(purpose=LinkPurpose.SERVICE_LISTING, service=service, email=email)
    return absolute_url(reverse("partners:listing_link", args=[token]))


def staff_addresses(service):
    return sorted({e.lower() for e in service.staff.filter(is_active=True).values_list("email", flat=True)})


def notify_service(service, event, *, emails=None, include_staff=False, **context):
    """E-mail ``service`` about ``event`` (a key of LINK_SUBJECTS): each address in ``emails`` (the
    service's own address by default) gets its own personal link; with ``include_staff``, its staff
    get the address of the page to update it when logged in. Call inside the transaction of the change."""
    subject = LINK_SUBJECTS[event].format(service=service.name)
    context = {"service": service, "link_days": settings.ACCESS_LINK_VALID_DAYS, **context}
    emails = [service.email] if emails is None else emails
    for email in sorted({e.lower() for e in emails if e}):
        body = render_to_string(
            f"partners/emails/listing_{event}.txt",
            {**context, "listing_url": listing_link_url(service, email), "for_staff": False},
        )
        mail_queue(subject=subject, body=body, recipients=[email])
    if include_staff:
        staff = [email for email in staff_addresses(service) if email not in {e.lower() for e in emails if e}]
        if staff:
            body = render_to_string(
                f"partners/emails/listing_{event}.txt",
                {
                    **context,
                    "listing_url": absolute_url(reverse("partners:listing_edit")),
                    "for_staff": True,
                },
            )
            for email in staff:
                mail_queue(subject=subject, body=body, recipients=[email])


def notify_coordinators(service, *, subject, template, emails, **context):
    """One e-mail per coordinator of ``service``'s networks (``emails``), about ``service``."""
    body = render_to_string(template, {"service": service, **context})
    for email in emails:
        mail_queue(subject=subject, body=body, recipients=[email])
