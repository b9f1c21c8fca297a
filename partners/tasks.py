"""Tasks of the partners app (django-tasks; the worker is `manage.py db_worker`)."""

from django_tasks import task

from .spreadsheets import spreadsheet_import_run


@task()
def run_spreadsheet_import(import_id: int, write: bool) -> None:
    spreadsheet_import_run(import_id=import_id, write=write)
