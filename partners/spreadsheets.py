"""Spreadsheets (CSV, XLSX) of organisations and services, in and out of the admin.

**Layout.** The columns are the data·inclusion schema's (v1) field names, the layout of the national
validator's spreadsheet: an XLSX with a "Structures" sheet and a "Services" sheet (or a CSV / a single
sheet, whose kind its columns tell: a ``structure_id`` column makes it services), one header row,
multi-value cells separated by commas, rows flagged ``__ignore__`` skipped. One more column, ``actif``
(oui/non), carries a service's active flag. Rows exported from Réseau that have no data·inclusion key
carry ``source`` "reseau" and ``id`` "reseau--<our id>" (as ``export_data_inclusion`` writes them): a
re-import finds the same row again.

**One mapping.** Each row is validated by the schema package's models and mapped to our fields by
``partners.data_inclusion`` (codes of thématiques, publics, frais, types, modes d'accueil; commune and
coordinates; referral mode): the spreadsheet import owns the same fields as the JSON import. Two
leniencies for spreadsheets: an empty ``date_maj`` means "never verified", an empty ``description``
stays empty (the schema requires both).

**Two steps.** ``analyse`` reads the file and plans every row (created, updated, unchanged, rejected
with its line, column and a French message) reading the database by batches and writing nothing: the
dry run. ``apply`` writes a plan in one transaction (all or nothing). A coordinator may create rows but
change only what ``editable_by`` lets them change: a row that would change anything else is rejected.
Imported rows get a history entry in the name of the importer (which also makes the rows a coordinator
creates editable by them, as in the admin's add form).
"""

import csv
import datetime
import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from . import search_index
from .data_inclusion import (
    EXPORT_SOURCE,
    MOBILISATION,
    ORGANISATION_FIELDS,
    SERVICE_FIELDS,
    SERVICE_RELATIONS,
    ImportReport,
    _clean_siret,
    _codes,
    _cut,
    _export_id,
    _place,
    _places_for,
    _Referentials,
    _service_values,
    _text,
    _through,
    _write_relations,
    french_errors,
)
from .enums import LegalKind
from .models import Organisation, Service
from .partnerships import partnerships_changed
from .signals import search_index_paused
from .text import normalize

BATCH_SIZE = 500
MAX_LISTED_ERRORS = 2_000
IGNORE_FLAG = "__ignore__"
ACTIVE_COLUMN = "actif"
STRUCTURE, SERVICE = "structure", "service"
SHEET_NAMES = {STRUCTURE: "Structures", SERVICE: "Services"}
REQUIRED_COLUMNS = {
    STRUCTURE: ["source", "id", "nom"],
    SERVICE: ["source", "structure_id", "id", "nom"],
}
# Columns written by the export, in this order (the schema's names, plus ``actif`` for services).
STRUCTURE_COLUMNS = ["source", "id", "nom", "date_maj", "siret", "site_web"]
SERVICE_COLUMNS = [
    "source",
    "structure_id",
    "id",
    "nom",
    "description",
    "date_maj",
    "thematiques",
    "publics",
    "modes_accueil",
    "type",
    "frais",
    "code_insee",
    "code_postal",
    "commune",
    "adresse",
    "latitude",
    "longitude",
    "telephone",
    "courriel",
    "lien_mobilisation",
    "modes_mobilisation",
    "mobilisation_precisions",
    "horaires_accueil",
    ACTIVE_COLUMN,
]
MULTI_VALUE = {
    "thematiques",
    "publics",
    "modes_accueil",
    "modes_mobilisation",
    "mobilisable_par",
    "zone_eligibilite",
    "reseaux_porteurs",
}
FLOAT_COLUMNS = {"latitude", "longitude", "volume_horaire_hebdomadaire"}
CODE_COLUMNS = {"siret": 14, "code_postal": 5, "code_insee": 5}  # digits a spreadsheet may turn into a number
TEXT_COLUMNS = {"source", "id", "structure_id", "telephone"}
SINGLE_IN_SCHEMA = ("type", "frais")
URL_MAX_LENGTH = 200  # Django's URLField
OWN_ID = re.compile(rf"^{EXPORT_SOURCE}--([0-9]{{1,18}})$")
PLACEHOLDER_DESCRIPTION = "(sans description)"
YES = {"oui", "o", "true", "vrai", "1", "x", "yes"}
NO = {"non", "n", "false", "faux", "0", "no"}

Progress = Callable[[int, int], None]  # (rows done, rows in all)


class SpreadsheetError(Exception):
    """The file cannot be read at all (empty, not CSV/XLSX, missing columns): nothing is analysed."""


# --- Report ------------------------------------------------------------------------------------


@dataclass
class SheetReport:
    counts: dict = field(default_factory=lambda: {STRUCTURE: Counter(), SERVICE: Counter()})
    errors: list = field(default_factory=list)  # [sheet, line, column, message]
    warnings: list = field(default_factory=list)
    file_error: str = ""

    def reject(self, kind, sheet, line, column, message):
        self.counts[kind]["rejected"] += 1
        self.error(sheet, line, column, message)

    def error(self, sheet, line, column, message):
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append([sheet, line, column, message])

    @property
    def to_write(self):
        return sum(self.counts[kind][what] for kind in self.counts for what in ("created", "updated"))

    def summary(self):
        s, v = self.counts[STRUCTURE], self.counts[SERVICE]
        return [
            f"Structures : {s['created']} créée(s), {s['updated']} mise(s) à jour, "
            f"{s['unchanged']} inchangée(s), {s['rejected']} rejetée(s).",
            f"Services : {v['created']} créé(s), {v['updated']} mis à jour, "
            f"{v['unchanged']} inchangé(s), {v['rejected']} rejeté(s).",
        ]

    def as_dict(self):
        return {
            "counts": {kind: dict(counter) for kind, counter in self.counts.items()},
            "errors": self.errors,
            "warnings": self.warnings,
            "file_error": self.file_error,
            "errors_cut": len(self.errors) >= MAX_LISTED_ERRORS,
        }


# --- Reading -----------------------------------------------------------------------------------


@dataclass
class Sheet:
    kind: str
    name: str  # as shown in errors: the sheet's title, or "CSV"
    header: list
    rows: list = field(default_factory=list)  # [(line, {column: value})]


def _kind_of(name, header):
    title = normalize(name or "")
    if title.startswith("structure"):
        return STRUCTURE
    if title.startswith("service"):
        return SERVICE
    return SERVICE if "structure_id" in header else STRUCTURE


def _header(values):
    return [normalize(str(value)).replace(" ", "_") if value is not None else "" for value in values]


def _sheet(kind, name, header, rows, report):
    missing = [column for column in REQUIRED_COLUMNS[kind] if column not in header]
    if missing:
        found = ", ".join(column for column in header if column) or "aucune"
        raise SpreadsheetError(
            f"{name} : colonne(s) obligatoire(s) manquante(s) : {', '.join(missing)} "
            f"(colonnes trouvées : {found}). La première ligne doit porter les noms de colonnes du "
            "schéma data·inclusion."
        )
    duplicates = sorted({column for column in header if column and header.count(column) > 1})
    if duplicates:
        raise SpreadsheetError(f"{name} : colonne(s) en double : {', '.join(duplicates)}.")
    sheet = Sheet(kind, name, header)
    for line, values in rows:
        if any(isinstance(value, str) and value.strip() == IGNORE_FLAG for value in values):
            report.counts[kind]["ignored"] += 1
            continue
        row = {column: value for column, value in zip(header, values, strict=False) if column}
        if any(value not in (None, "") for value in row.values()):
            sheet.rows.append((line, row))
    return sheet


def _read_xlsx(content, report, header_only):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as error:
        raise SpreadsheetError("Classeur XLSX illisible (fichier abîmé ou d'un autre format).") from error
    try:
        named = {_kind_of(ws.title, []): ws for ws in workbook.worksheets if _named_sheet(ws.title)}
        worksheets = list(named.values()) or workbook.worksheets[:1]
        sheets = []
        for worksheet in worksheets:
            rows = worksheet.iter_rows(values_only=True)
            header = _header(next(rows, ()))
            if not any(header):
                continue
            body = () if header_only else ((line, list(values)) for line, values in enumerate(rows, start=2))
            sheets.append(_sheet(_kind_of(worksheet.title, header), worksheet.title, header, body, report))
        return sheets
    finally:
        workbook.close()


def _named_sheet(title):
    return normalize(title) in {"structures", "services"}


def _decode(content, report):
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpreadsheetError("Fichier encodé en UTF-16 : enregistrez-le en CSV UTF-8.")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        report.warnings.append(
            "Le fichier n'est pas en UTF-8 : il a été lu en Windows-1252 (Latin-1). Vérifiez les accents "
            "dans l'aperçu, ou enregistrez-le en « CSV UTF-8 »."
        )
        return content.decode("cp1252", errors="replace")


def _read_csv(content, report, header_only):
    text = _decode(content, report)
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _header(next(reader, []))
        if not any(header):
            raise SpreadsheetError("Le fichier ne contient aucune ligne d'en-tête.")
        rows, start = [], reader.line_num + 1
        for values in () if header_only else reader:
            rows.append((start, values))
            start = reader.line_num + 1
    except csv.Error as error:
        raise SpreadsheetError(f"CSV illisible à la ligne {reader.line_num} ({error}).") from error
    return [_sheet(_kind_of("", header), "CSV", header, rows, report)]


def read_spreadsheet(content: bytes, report: SheetReport, *, header_only=False) -> list[Sheet]:
    """The sheets of a CSV or XLSX file; raises SpreadsheetError with a French message.

    ``header_only``: check the format and the header rows only (cheap: the upload form's check)."""
    if not content or not content.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SpreadsheetError("Le fichier est vide.")
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise SpreadsheetError("Classeur XLSX illisible (fichier abîmé ou tronqué).") from error
        if "mimetype" in names and "content.xml" in names:
            raise SpreadsheetError("Classeur OpenDocument (ODS) : enregistrez-le en XLSX ou en CSV.")
        if "xl/workbook.xml" not in names:
            raise SpreadsheetError(
                "Archive ZIP qui n'est pas un classeur XLSX : déposez un fichier CSV ou XLSX."
            )
        sheets = _read_xlsx(content, report, header_only)
    elif content.startswith(b"\xd0\xcf\x11\xe0"):
        raise SpreadsheetError("Ancien format Excel (XLS) : enregistrez le classeur en XLSX ou en CSV.")
    elif b"\x00" in content[:4096] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpreadsheetError("Ce fichier n'est ni un CSV ni un classeur XLSX.")
    else:
        sheets = _read_csv(content, report, header_only)
    if not sheets:
        raise SpreadsheetError("Le classeur ne contient aucune feuille avec une ligne d'en-tête.")
    kinds = [sheet.kind for sheet in sheets]
    if len(set(kinds)) < len(kinds):
        raise SpreadsheetError(
            "Deux feuilles de même nature : une feuille Structures et une feuille Services au plus."
        )
    return sorted(sheets, key=lambda sheet: sheet.kind != STRUCTURE)  # structures first


def check_file(content: bytes) -> int:
    """What the upload request affords: refuse a file that cannot be imported at all (format, encoding,
    header row) and estimate its rows, to analyse it inline (short) or in the task queue (long).

    A long XLSX is not opened here (openpyxl needs seconds for 20 000 rows): its rows are read from each
    sheet's ``<dimension>``, and its header rows are checked by the analysis (a French report on the
    import's page, nothing written)."""
    if content.startswith(b"PK\x03\x04"):
        estimate = _xlsx_rows_estimate(content)
        if estimate is not None and estimate > INLINE_MAX_ROWS:
            return estimate
    sheets = read_spreadsheet(content, SheetReport(), header_only=True)
    if content.startswith(b"PK\x03\x04"):
        return estimate or 0
    del sheets
    return max(content.count(b"\n") - 1, 0)


DIMENSION = re.compile(rb'<dimension ref="[A-Z]+[0-9]+:[A-Z]+([0-9]+)"')


def _xlsx_rows_estimate(content):
    """Rows of every worksheet from their ``<dimension>`` elements; None when the archive says nothing."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            total, found = 0, False
            for info in archive.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with archive.open(info) as handle:
                        match = DIMENSION.search(handle.read(4096))
                    if match:
                        total, found = total + max(int(match.group(1)) - 1, 0), True
                    elif info.file_size > 1_000_000:  # no dimension, but large: send it to the queue
                        total, found = total + INLINE_MAX_ROWS + 1, True
            return total if found else None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # reported by read_spreadsheet


# --- Cells → schema records --------------------------------------------------------------------


def _number_text(value, digits):
    """A code a spreadsheet turned into a number (13003013300016.0, 1.3003013300016E+13, 1000 for 01000)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]+([.,]0*)?|[0-9](\.[0-9]+)?[eE]\+?[0-9]+", text):
            return text
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            return text
    if number != number.to_integral_value() or number < 0:
        return str(value)
    text = str(int(number))
    # One digit short: the leading zero a spreadsheet drops (01000 → 1000); anything shorter stays wrong.
    return text.zfill(digits) if len(text) == digits - 1 else text


def _cell(column, value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if column in CODE_COLUMNS:
        return _number_text(value, CODE_COLUMNS[column]) or None
    if isinstance(value, float) and column in TEXT_COLUMNS and value == int(value):
        return str(int(value))
    if column in FLOAT_COLUMNS:
        if isinstance(value, str):
            value = value.strip().replace(",", ".")
        return value if value != "" else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if column in MULTI_VALUE:
        values = [part.strip() for part in str(value).split(",") if part.strip()]
        return values or None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class _OneError:
    """One pydantic error, in the shape ``french_errors`` reads."""

    def __init__(self, item):
        self.item = item

    def errors(self, include_url=False):
        return [self.item]


def _validate(model, record, sheet, line, report, kind):
    """The schema's model for ``record``, or None after reporting each error with its column."""
    from pydantic import ValidationError

    try:
        return model.model_validate(record)
    except ValidationError as error:
        report.counts[kind]["rejected"] += 1
        for item in error.errors(include_url=False):
            loc = [str(part) for part in item["loc"] if not isinstance(part, int)]
            report.error(sheet, line, loc[0] if loc else "", french_errors(_OneError(item)))
        return None


def _record(kind, row):
    record = {column: _cell(column, value) for column, value in row.items() if column != ACTIVE_COLUMN}
    record = {column: value for column, value in record.items() if value is not None}
    record = _clean_siret(record)
    lenient, extra_codes = {}, {}
    if "courriel" in record:
        # Checked by Django's validator (as the admin form does), not the schema's, which refuses reserved
        # domains (.test, .example) that directories do use; the address is stored as typed.
        lenient["email"] = record.pop("courriel")
    if "date_maj" not in record:
        lenient["verified_on"] = None  # never verified
        record["date_maj"] = datetime.date.today().isoformat()
    if kind == SERVICE and "description" not in record:
        lenient["description"] = ""
        record["description"] = PLACEHOLDER_DESCRIPTION
    for column in SINGLE_IN_SCHEMA:
        # The schema holds one type and one frais; a service of ours may have several: the first one is
        # validated by the schema, the others are looked up in the same referentials.
        parts = [part.strip() for part in str(record.get(column) or "").split(",") if part.strip()]
        if len(parts) > 1:
            record[column], extra_codes[column] = parts[0], parts[1:]
    publics = record.get("publics")
    if isinstance(publics, list) and "tous-publics" in publics and len(publics) > 1:
        # The schema refuses "tous-publics" among other publics; a service of ours may carry both.
        record["publics"] = [code for code in publics if code != "tous-publics"]
        extra_codes["publics"] = ["tous-publics"]
    return record, (lenient, extra_codes)


def _is_email(value):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(value)
    except ValidationError:
        return False
    return len(value) <= 254


def _active(value):
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = normalize(str(value).strip())
    if text in YES:
        return True
    if text in NO:
        return False
    return None


# --- Plan --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What ``apply`` writes: built by ``analyse`` without writing anything."""

    user: object
    new_structures: list = field(default_factory=list)  # [Organisation] (source key set)
    changed_structures: list = field(default_factory=list)  # [Organisation] with new values set
    renamed_structures: list = field(default_factory=list)  # pks whose services need re-indexing
    new_services: list = field(default_factory=list)  # [(Service, structure key or None, {relation: pks})]
    changed_services: list = field(default_factory=list)  # [(Service, {relation: pks} or None)]


def _own_pk(source, source_id):
    match = OWN_ID.match(source_id) if source == EXPORT_SOURCE else None
    return int(match.group(1)) if match else None


def _structure_key(service):
    """A service's structure: (source, structure_id), or ours when structure_id is "reseau--<pk>" (a service
    with a data·inclusion key may belong to an organisation typed in Réseau)."""
    if OWN_ID.match(service.structure_id):
        return (EXPORT_SOURCE, service.structure_id)
    return (service.source, service.structure_id)


def _lookup(model, keys):
    """{key: row} for (source, id) keys, our own rows found by their "reseau--<pk>" id."""
    own = {_own_pk(*key): key for key in keys if _own_pk(*key) is not None}
    by_source = defaultdict(set)
    for source, source_id in keys:
        if source != EXPORT_SOURCE:
            by_source[source].add(source_id)
    from django.db.models import Q

    query = Q(pk__in=list(own)) & Q(source="")
    for source, ids in by_source.items():
        query |= Q(source=source, source_id__in=ids)
    found = {}
    for row in model.objects.filter(query):
        found[own[row.pk] if not row.source else (row.source, row.source_id)] = row
    return found


def _editable(model, user, rows):
    pks = [row.pk for row in rows]
    if user.is_superuser or not pks:
        return set(pks)
    return set(model.objects.editable_by(user).filter(pk__in=pks).values_list("pk", flat=True))


COORDINATE_TOLERANCE = 1e-7  # degrees, about a centimetre: what a spreadsheet's 15 digits keep of a float


def _same(old, new):
    if isinstance(old, str) and isinstance(new, str):
        return _text(old) == _text(new)
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) < COORDINATE_TOLERANCE
    return old == new


def _key_problem(source, source_id, what):
    if source == EXPORT_SOURCE and _own_pk(source, source_id) is None:
        return (
            f"la source « {EXPORT_SOURCE} » est réservée aux lignes exportées de Réseau "
            f"(identifiant attendu : {EXPORT_SOURCE}--<numéro>) ; donnez votre propre source à {what} nouveau·elle"
        )
    return None


def _plan_structures(sheet, batch, plan, report, seen_sirets):
    """Plan a batch [(line, row, Structure)]: four queries."""
    existing = _lookup(Organisation, [(s.source, s.id) for _, _, s in batch])
    editable = _editable(Organisation, plan.user, existing.values())
    sirets = {s.siret for _, _, s in batch if s.siret}
    holders = {
        siret: (pk, name)
        for siret, pk, name in Organisation.objects.filter(siret__in=sirets).values_list(
            "siret", "pk", "name"
        )
    }
    for line, row, structure in batch:
        key = (structure.source, structure.id)
        organisation = existing.get(key)
        if organisation is None and _own_pk(*key) is not None:
            report.reject(STRUCTURE, sheet, line, "id", f"structure « {structure.id} » inconnue dans Réseau")
            continue
        values = {
            "name": _cut(structure.nom, 255),
            "siret": structure.siret or "",
            "website": _text(row.get("site_web")) if structure.site_web else "",
        }
        if len(values["website"]) > URL_MAX_LENGTH:
            report.reject(
                STRUCTURE, sheet, line, "site_web", f"adresse de plus de {URL_MAX_LENGTH} caractères"
            )
            continue
        holder = holders.get(values["siret"])
        if values["siret"] and holder and holder[0] != getattr(organisation, "pk", None):
            report.reject(
                STRUCTURE, sheet, line, "siret", f"SIRET {values['siret']} déjà porté par « {holder[1]} »"
            )
            continue
        if values["siret"] and values["siret"] in seen_sirets:
            report.reject(
                STRUCTURE,
                sheet,
                line,
                "siret",
                f"SIRET {values['siret']} en double (déjà ligne {seen_sirets[values['siret']]})",
            )
            continue
        if values["siret"]:
            seen_sirets[values["siret"]] = line
        if organisation is None:
            plan.new_structures.append(
                Organisation(
                    source=structure.source, source_id=structure.id, legal_kind=LegalKind.OTHER, **values
                )
            )
            report.counts[STRUCTURE]["created"] += 1
            continue
        if all(_same(getattr(organisation, name), value) for name, value in values.items()):
            report.counts[STRUCTURE]["unchanged"] += 1
            continue
        if organisation.pk not in editable:
            report.reject(
                STRUCTURE,
                sheet,
                line,
                "id",
                f"vous ne pouvez pas modifier l'organisation « {organisation.name} » (hors de vos réseaux)",
            )
            continue
        if organisation.name != values["name"]:
            plan.renamed_structures.append(organisation.pk)
        for name, value in values.items():
            setattr(organisation, name, value)
        plan.changed_structures.append(organisation)
        report.counts[STRUCTURE]["updated"] += 1


def _plan_services(sheet, batch, plan, report, refs, planned_structures):
    """Plan a batch [(line, row, Service, lenient)]: a fixed number of queries."""
    existing = _lookup(Service, [(s.source, s.id) for _, _, s, _ in batch])
    editable = _editable(Service, plan.user, existing.values())
    current = defaultdict(lambda: defaultdict(set))  # relation → service pk → national pks
    if existing:
        pks = [row.pk for row in existing.values()]
        for relation, _, _ in SERVICE_RELATIONS:
            through, source_column, target_column = _through(relation)
            for service_pk, target_pk in through.objects.filter(**{f"{source_column}__in": pks}).values_list(
                source_column, target_column
            ):
                if target_pk in refs.national[relation]:
                    current[relation][service_pk].add(target_pk)
    organisations = {
        key: row.pk for key, row in _lookup(Organisation, [_structure_key(s) for _, _, s, _ in batch]).items()
    }
    communes, postcodes = _places_for([s for _, _, s, _ in batch])

    warnings = ImportReport()  # data_inclusion's mapping reports URLs it drops here
    for line, row, service, (lenient, extra_codes) in batch:
        key, structure_key = (service.source, service.id), _structure_key(service)
        row_object = existing.get(key)
        if row_object is None and _own_pk(*key) is not None:
            report.reject(SERVICE, sheet, line, "id", f"service « {service.id} » inconnu dans Réseau")
            continue
        organisation_pk = organisations.get(structure_key)
        if organisation_pk is None and structure_key not in planned_structures:
            report.reject(
                SERVICE,
                sheet,
                line,
                "structure_id",
                f"structure « {service.structure_id} » inconnue (absente de la feuille Structures et de l'annuaire, ou rejetée)",
            )
            continue
        wanted, unknown = {}, []
        for relation, _, schema_field in SERVICE_RELATIONS:
            pks = set()
            for code in _codes(getattr(service, schema_field)) + extra_codes.get(schema_field, []):
                pk = refs.codes[schema_field].get(code)
                if pk is None:
                    unknown.append((schema_field, f"code « {code} » absent des référentiels de Réseau"))
                else:
                    pks.add(pk)
            wanted[relation] = pks
        email = lenient.pop("email", "")
        if email and not _is_email(email):
            unknown.append(("courriel", f"courriel : « {email} » n'est pas une adresse électronique valide"))
        active = _active(row.get(ACTIVE_COLUMN))
        if active is None:
            unknown.append((ACTIVE_COLUMN, f"« {row.get(ACTIVE_COLUMN)} » : oui ou non attendu"))
        if unknown:
            report.counts[SERVICE]["rejected"] += 1
            for column, message in unknown:
                report.error(sheet, line, column, message)
            continue
        values = _service_values(
            service, (organisation_pk, ""), _place(service, communes, postcodes), warnings
        )
        values.update(lenient)
        values["is_active"] = active
        # Addresses as typed: the schema's URL and e-mail types rewrite them ("https://a.fr" → "https://a.fr/").
        values["website"] = _text(row.get("lien_mobilisation")) if values["website"] else ""
        values["email"] = email
        if row_object is None:
            values.pop("organisation_id")
            new = Service(
                source=service.source, source_id=service.id, organisation_id=organisation_pk, **values
            )
            plan.new_services.append((new, None if organisation_pk else structure_key, wanted))
            report.counts[SERVICE]["created"] += 1
            continue
        changed_fields = not all(_same(getattr(row_object, name), value) for name, value in values.items())
        changed_relations = {
            relation: pks for relation, pks in wanted.items() if current[relation][row_object.pk] != pks
        }
        if not (changed_fields or changed_relations):
            report.counts[SERVICE]["unchanged"] += 1
            continue
        if row_object.pk not in editable:
            report.reject(
                SERVICE,
                sheet,
                line,
                "id",
                f"vous ne pouvez pas modifier le service « {row_object.name} » (hors de vos réseaux)",
            )
            continue
        for name, value in values.items():
            setattr(row_object, name, value)
        plan.changed_services.append((row_object, changed_relations or None))
        report.counts[SERVICE]["updated"] += 1
    for message in warnings.warnings:
        report.warnings.append(message)


def analyse(content: bytes, user, *, progress: Progress | None = None, batch_size=BATCH_SIZE):
    """Read ``content`` and plan every row, writing nothing: (SheetReport, Plan or None)."""
    from data_inclusion.schema import v1 as schema

    report, plan = SheetReport(), Plan(user=user)
    try:
        sheets = read_spreadsheet(content, report)
    except SpreadsheetError as error:
        report.file_error = str(error)
        return report, None
    total, done = sum(len(sheet.rows) for sheet in sheets), 0
    planned_structures = set()
    refs = _Referentials.load()
    for sheet in sheets:
        model = schema.Structure if sheet.kind == STRUCTURE else schema.Service
        seen, batch, seen_sirets = {}, [], {}
        for line, row in sheet.rows:
            record, lenient = _record(sheet.kind, row)
            key = (str(record.get("source", "")), str(record.get("id", "")))
            if all(key) and key in seen:
                report.reject(
                    sheet.kind,
                    sheet.name,
                    line,
                    "id",
                    f"identifiant « {key[1]} » en double (déjà ligne {seen[key]})",
                )
                continue
            if all(key):
                seen[key] = line
                problem = _key_problem(*key, "une structure" if sheet.kind == STRUCTURE else "un service")
                if problem:
                    report.reject(sheet.kind, sheet.name, line, "source", problem)
                    continue
            validated = _validate(model, record, sheet.name, line, report, sheet.kind)
            if validated is None:
                continue
            batch.append((line, row, validated, lenient) if sheet.kind == SERVICE else (line, row, validated))
            if len(batch) >= batch_size:
                done += _flush(sheet, batch, plan, report, refs, planned_structures, seen_sirets)
                batch = []
                if progress:
                    progress(min(done, total), total)
        _flush(sheet, batch, plan, report, refs, planned_structures, seen_sirets)
        if sheet.kind == STRUCTURE:
            planned_structures = {(o.source, o.source_id) for o in plan.new_structures}
    if progress:
        progress(total, total)
    return report, plan


def _flush(sheet, batch, plan, report, refs, planned_structures, seen_sirets):
    if not batch:
        return 0
    if sheet.kind == STRUCTURE:
        _plan_structures(sheet.name, batch, plan, report, seen_sirets)
    else:
        _plan_services(sheet.name, batch, plan, report, refs, planned_structures)
    return len(batch)


# --- Apply -------------------------------------------------------------------------------------


def apply(plan: Plan, *, batch_size=BATCH_SIZE):
    """Write ``plan`` in one transaction: everything or nothing. A fixed number of queries per batch."""
    refs = _Referentials.load()
    with transaction.atomic(), search_index_paused():
        for start in range(0, len(plan.new_structures), batch_size):
            batch = plan.new_structures[start : start + batch_size]
            Organisation.objects.bulk_create(batch)
            Organisation.history.bulk_history_create(batch, default_user=plan.user)
        for start in range(0, len(plan.changed_structures), batch_size):
            batch = plan.changed_structures[start : start + batch_size]
            Organisation.objects.bulk_update(batch, ORGANISATION_FIELDS)
            Organisation.history.bulk_history_create(batch, update=True, default_user=plan.user)
        created_keys = {(o.source, o.source_id): o.pk for o in plan.new_structures}
        for start in range(0, len(plan.new_services), batch_size):
            batch = plan.new_services[start : start + batch_size]
            for service, structure_key, _ in batch:
                if structure_key is not None:
                    service.organisation_id = created_keys[structure_key]
            services = [service for service, _, _ in batch]
            Service.objects.bulk_create(services)
            _write_relations([(service, wanted, False) for service, _, wanted in batch], refs)
            Service.history.bulk_history_create(services, default_user=plan.user)
            search_index.index_services([service.pk for service in services])
        for start in range(0, len(plan.changed_services), batch_size):
            batch = plan.changed_services[start : start + batch_size]
            services = [service for service, _ in batch]
            Service.objects.bulk_update(services, SERVICE_FIELDS)
            _write_relations([(service, relations, True) for service, relations in batch if relations], refs)
            Service.history.bulk_history_create(services, update=True, default_user=plan.user)
            search_index.index_services([service.pk for service in services])
        renamed = plan.renamed_structures
        for start in range(0, len(renamed), batch_size):
            search_index.index_services(
                Service.objects.filter(organisation_id__in=renamed[start : start + batch_size]).values_list(
                    "pk", flat=True
                )
            )
        # bulk_update may (de)activate or rename services, or rename organisations, without signals.
        if plan.changed_services or plan.changed_structures:
            partnerships_changed()


# --- Export ------------------------------------------------------------------------------------


def _key(row):
    return (row.source, row.source_id) if row.source else (EXPORT_SOURCE, _export_id(row.pk))


def structure_row(organisation) -> dict:
    source, source_id = _key(organisation)
    return {
        "source": source,
        "id": source_id,
        "nom": organisation.name,
        "date_maj": organisation.updated_at.date().isoformat() if organisation.updated_at else "",
        "siret": organisation.siret,
        "site_web": organisation.website,
    }


def _national(rows):
    return ", ".join(sorted(row.code for row in rows if row.is_national))


def service_row(service) -> dict:
    """One service as a spreadsheet row (prefetch organisation, commune and the five relations)."""
    source, source_id = _key(service)
    return {
        "source": source,
        "structure_id": _key(service.organisation)[1],
        "id": source_id,
        "nom": service.name,
        "description": service.description,
        "date_maj": service.verified_on.isoformat() if service.verified_on else "",
        "thematiques": _national(service.domains.all()),
        "publics": _national(service.publics.all()),
        "modes_accueil": _national(service.access_modes.all()),
        "type": _national(service.service_types.all()),
        "frais": _national(service.fees.all()),
        "code_insee": service.commune_id or "",
        "code_postal": service.postcode,
        "commune": service.commune.name if service.commune else "",
        "adresse": service.address,
        "latitude": "" if service.latitude is None else service.latitude,
        "longitude": "" if service.longitude is None else service.longitude,
        "telephone": service.phone,
        "courriel": service.email,
        "lien_mobilisation": service.website,
        "modes_mobilisation": MOBILISATION[service.referral_mode],
        "mobilisation_precisions": service.referral_details,
        "horaires_accueil": service.opening_hours,
        ACTIVE_COLUMN: "oui" if service.is_active else "non",
    }


# --- Jobs (the admin's imports) -----------------------------------------------------------------

INLINE_MAX_ROWS = 1_000  # longer files run in the task queue (partners.tasks)


def _enqueue(import_id, write):
    from .tasks import run_spreadsheet_import  # the task module imports this one

    run_spreadsheet_import.enqueue(import_id, write)


def _start(job, write, rows=None):
    if (rows if rows is not None else check_file(bytes(job.content))) > INLINE_MAX_ROWS:
        transaction.on_commit(lambda: _enqueue(job.pk, write))
    else:
        spreadsheet_import_run(import_id=job.pk, write=write)
        job.refresh_from_db()


def spreadsheet_import_create(*, user, file_name, content, rows=None):
    """Store an uploaded file and analyse it (a dry run): inline when short, else in the task queue.

    ``rows``: ``check_file``'s estimate, when the caller has it already."""
    from .models import SpreadsheetImport

    job = SpreadsheetImport.objects.create(
        created_by=user, file_name=file_name[:255], content=content, progress_at=timezone.now()
    )
    _start(job, write=False, rows=rows)
    return job


def spreadsheet_import_confirm(*, job):
    """Import an analysed file. False when it is not waiting for confirmation (already imported…)."""
    from .enums import SpreadsheetImportStatus
    from .models import SpreadsheetImport

    started = SpreadsheetImport.objects.filter(pk=job.pk, status=SpreadsheetImportStatus.READY).update(
        status=SpreadsheetImportStatus.IMPORTING, rows_done=0, progress_at=timezone.now()
    )
    if not started:
        return False
    job.refresh_from_db()
    _start(job, write=True, rows=job.rows_total)
    return True


def spreadsheet_import_restart(*, job):
    """Run again an import whose worker stopped (``SpreadsheetImport.is_stalled``): the analysis if it
    never ended, else the import itself. Safe because the write is one transaction (a dead worker wrote
    nothing) and keyed by (source, id) (a write that did commit finds every row unchanged).

    False when the import is not stalled (it moved meanwhile, ended, or was restarted by someone else)."""
    from .enums import SpreadsheetImportStatus as Status
    from .models import SpreadsheetImport

    if not job.is_stalled:
        return False
    write = job.status == Status.IMPORTING
    # Conditional on the activity the page saw: two clicks, or a worker waking up, restart nothing twice.
    restarted = SpreadsheetImport.objects.filter(
        pk=job.pk, status=job.status, progress_at=job.progress_at, created_at=job.created_at
    ).update(status=Status.IMPORTING if write else Status.PENDING, rows_done=0, progress_at=timezone.now())
    if not restarted:
        return False
    job.refresh_from_db()
    _start(job, write=write, rows=job.rows_total or None)
    return True


def spreadsheet_import_run(*, import_id, write):
    """Analyse (``write`` False) or import (``write`` True) a stored file, recording progress and report.

    The analysis reads the database by batches without a transaction, so the progress it records is seen
    at once; the writes then run in one transaction. Any failure leaves nothing written and a French
    report on the import.
    """
    import logging

    from django.db import DatabaseError

    from .enums import SpreadsheetImportStatus as Status
    from .models import SpreadsheetImport

    job = SpreadsheetImport.objects.select_related("created_by").get(pk=import_id)
    if not write:
        SpreadsheetImport.objects.filter(pk=job.pk).update(
            status=Status.ANALYSING, progress_at=timezone.now()
        )

    def progress(done, total):
        SpreadsheetImport.objects.filter(pk=job.pk).update(
            rows_done=min(done, total), rows_total=total, progress_at=timezone.now()
        )

    report, plan = SheetReport(), None
    try:
        report, plan = analyse(bytes(job.content), job.created_by, progress=progress)
        if plan is not None and write:
            SpreadsheetImport.objects.filter(pk=job.pk).update(progress_at=timezone.now())
            apply(plan)
    except DatabaseError as error:
        logging.getLogger(__name__).exception("spreadsheet import %s refused by the database", job.pk)
        first_line = (str(error).splitlines() or [type(error).__name__])[0][:200]
        report.file_error = f"La base de données a refusé l'import ({first_line}) : rien n'a été écrit."
    except Exception:
        logging.getLogger(__name__).exception("spreadsheet import %s failed", job.pk)
        report.file_error = (
            "Erreur inattendue pendant l'import : rien n'a été écrit. L'équipe technique est prévenue."
        )
    now = timezone.now()
    fields = {"report": report.as_dict(), "progress_at": now}
    if report.file_error:
        fields["status"] = Status.FAILED
    elif write:
        fields.update(status=Status.DONE, imported_at=now, content=b"")
    else:
        fields.update(status=Status.READY, analysed_at=now)
    SpreadsheetImport.objects.filter(pk=job.pk).update(**fields)


# --- Export resources (django-import-export, used by the admin's "Exporter") -------------------


def _resource(name, model, columns, row_function):
    """A Resource whose columns are ``columns``, each row computed once by ``row_function``."""
    from import_export import fields, resources

    class RowResource(resources.ModelResource):
        def export_resource(self, instance, selected_fields=None, **kwargs):
            row = row_function(instance)
            return [row[field.column_name] for field in self.get_export_fields(selected_fields)]

    attributes = {column: fields.Field(attribute=column, column_name=column) for column in columns}
    attributes["Meta"] = type(
        "Meta", (), {"model": model, "fields": tuple(columns), "export_order": tuple(columns), "name": name}
    )
    return type(name, (RowResource,), attributes)


OrganisationResource = _resource("OrganisationResource", Organisation, STRUCTURE_COLUMNS, structure_row)
ServiceResource = _resource("ServiceResource", Service, SERVICE_COLUMNS, service_row)
