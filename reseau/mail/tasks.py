"""Tasks of the mail app: deliver one outgoing e-mail (django-tasks; the worker is `manage.py db_worker`)."""

from django_tasks import task

from .services import mail_deliver


@task()
def deliver_mail(mail_id: int) -> str:
    return mail_deliver(mail_id=mail_id)
