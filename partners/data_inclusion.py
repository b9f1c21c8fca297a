"""data·inclusion in and out: structures and services of the national schema (v1) ⇄ the directory.

**Import** (``import_data_inclusion``): JSON files, each a list of records or a page of the national
API (``{"items": [...], ...}``), structures and services in separate files or mixed. A record with
a service-only key (``structure_id``, ``thematiques``…) is a service, any other a structure.

- Files are streamed with ``ijson`` (C backend): memory holds one batch of records plus the keys
  already seen, never a whole file. Every file is first read once, writing nothing, so a file that
  is not JSON (or cut short) is reported before anything is written; that reading also counts each
  file's structures and services. Then structures are imported (a pass over the files holding some),
  then services (a pass over the files holding some), so a service may come before its structure or
  in another file.
- Each record is validated by the schema package's own models (``data_inclusion.schema.v1``); a
  rejected record is reported with its id and a French reason, the others go in. Integral float
  SIRETs (``13003013300016.0``, spreadsheets' doing) are read as the 14-digit string they were.
- Records are matched by their stable key (``source``, ``id``): created, updated when a field the
  import owns changed, counted unchanged otherwise, never duplicated. A record identical to the one
  last imported (``record_digest``, stored on its row; for a service, with its structure's hours) is
  counted unchanged without being validated nor compared: the cost of a re-import with no change.
  ``compare_all`` compares every record field by field instead (and rewrites owned fields edited by hand).
- **What an import owns** (rewritten from the source): of an organisation ``ORGANISATION_FIELDS``
  (name, SIRET, website, opening hours); of a service ``SERVICE_FIELDS`` (organisation, name,
  description, commune, address, postcode, coordinates, opening hours — the structure's when the
  service has none —, phone, e-mail, website from ``lien_mobilisation``, referral mode and details,
  ``verified_on`` from ``date_maj``, active flag) and the *national* rows of ``SERVICE_RELATIONS``
  (thématiques, publics, types, frais, modes d'accueil). **What stays local**: everything else —
  capacity and its date (set by the service), local thématiques, publics and modes d'accueil
  (``is_national`` off), languages, intervention radius and communes, convention memberships,
  referrals, an organisation's legal kind and BCE number.
- Work goes by batches of ``BATCH_SIZE`` records, one transaction each, a fixed number of queries
  per batch. History is skipped (bulk writes); the search index is fed once per batch.
- ``deactivate_missing=SOURCE``: after a complete import, active services of that source absent
  from the files are deactivated, never deleted.
- ``dry_run``: everything runs inside one transaction rolled back at the end: exact counts, nothing
  kept.

**Export** (``export_data_inclusion``): see its docstring.

The schema package (pydantic, pendulum) is imported inside the functions: never on the request path.
"""

import datetime
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from . import search_index
from .enums import LegalKind, ReferralMode
from .models import AccessMode, Commune, Domain, Fee, Organisation, Postcode, Public, Service, ServiceType
from .partnerships import partnerships_changed
from .signals import search_index_paused
from .text import normalize

BATCH_SIZE = 500
# PostgreSQL re-reads a table's statistics this often during a pass (see _refresh_statistics).
ANALYZE_EVERY_BATCHES = 50
MAX_LISTED_REJECTIONS = 10_000
BOM = b"\xef\xbb\xbf"

# Keys only a service carries: a record with one of them is a service.
SERVICE_KEYS = frozenset(
    {
        "structure_id",
        "thematiques",
        "publics",
        "modes_accueil",
        "type",
        "frais",
        "frais_precisions",
        "publics_precisions",
        "conditions_acces",
        "zone_eligibilite",
        "contact_nom_prenom",
        "lien_mobilisation",
        "modes_mobilisation",
        "mobilisable_par",
        "mobilisation_precisions",
        "volume_horaire_hebdomadaire",
        "nombre_semaines",
    }
)

# Service fields the import owns (README): rewritten from the source, compared to count "unchanged".
SERVICE_FIELDS = [
    "organisation_id",
    "name",
    "description",
    "commune_id",
    "address",
    "postcode",
    "latitude",
    "longitude",
    "opening_hours",
    "phone",
    "email",
    "website",
    "referral_mode",
    "referral_details",
    "verified_on",
    "is_active",
    "import_digest",  # not compared: rewritten when it differs
]
ORGANISATION_FIELDS = ["name", "siret", "website", "opening_hours", "import_digest"]

# Many-to-many relations whose national rows the import owns: (Service field, model, schema field).
SERVICE_RELATIONS = [
    ("domains", Domain, "thematiques"),
    ("publics", Public, "publics"),
    ("service_types", ServiceType, "type"),
    ("fees", Fee, "frais"),
    ("access_modes", AccessMode, "modes_accueil"),
]

# modes_mobilisation → our referral mode, the first one present wins.
REFERRAL_MODES = [
    ("utiliser-lien-mobilisation", ReferralMode.FORM),
    ("envoyer-un-courriel", ReferralMode.EMAIL),
    ("telephoner", ReferralMode.PHONE),
    ("se-presenter", ReferralMode.WALK_IN),
]

FIELD_FORMATS = {
    "code_postal": "un code postal valide (5 chiffres)",
    "code_insee": "un code INSEE valide (5 caractères)",
    "siret": "un SIRET valide (14 chiffres)",
}
URL_MAX_LENGTH = 200  # Django's URLField
PHONE_MAX_LENGTH = 30


class DataInclusionFileError(Exception):
    """A file that cannot be read at all (not JSON, not UTF-8, empty, cut short): nothing is written."""


Progress = Callable[[str, int, int], None]  # ("<phase> <file name>", bytes read, total bytes)


@dataclass
class Rejection:
    kind: str  # "structure" or "service"
    source_id: str
    reason: str
    path: str

    def __str__(self):
        return f"{self.kind} {self.source_id} ({self.path}) rejeté·e : {self.reason}"


@dataclass
class ImportReport:
    structures: Counter = field(default_factory=Counter)
    services: Counter = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def reject(self, kind, source_id, reason, path):
        getattr(self, f"{kind}s")["rejected"] += 1
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append(Rejection(kind, source_id or "(sans identifiant)", reason, str(path)))

    @property
    def nothing_usable(self) -> bool:
        """Records were rejected and none went in (or was found unchanged): the files were unusable."""
        kept = ("created", "updated", "unchanged")
        counts = (self.structures, self.services)
        return any(c["rejected"] for c in counts) and not any(c[name] for c in counts for name in kept)

    def summary(self) -> list[str]:
        s, v = self.structures, self.services
        return [
            f"Structures : {s['created']} créée(s), {s['updated']} mise(s) à jour, "
            f"{s['unchanged']} inchangée(s), {s['rejected']} rejetée(s).",
            f"Services : {v['created']} créé(s), {v['updated']} mis à jour, {v['unchanged']} inchangé(s), "
            f"{v['deactivated']} désactivé(s), {v['rejected']} rejeté(s).",
        ]


# --- Reading files ---------------------------------------------------------------------------


def _records(path: Path, progress: Progress | None, phase: str) -> Iterator[object]:
    """The records of one file, streamed; raises DataInclusionFileError with a French message."""
    import ijson

    try:
        handle = path.open("rb")
    except OSError as error:
        raise DataInclusionFileError(f"{path} : fichier illisible ({error.strerror}).") from error
    with handle:
        total = path.stat().st_size
        start = 3 if handle.read(3) == BOM else 0
        handle.seek(start)
        head = handle.read(4096).lstrip()
        handle.seek(start)
        if not head:
            raise DataInclusionFileError(f"{path} : le fichier est vide.")
        if head[:1] == b"[":
            prefix = "item"
        elif head[:1] == b"{":
            prefix = "items.item"  # a page of the national API
        else:
            raise DataInclusionFileError(
                f"{path} : ce n'est pas un fichier JSON (une liste d'enregistrements ou une page "
                '{"items": [...]} est attendue).'
            )
        try:
            for count, record in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
                yield record
                if progress and count % 100 == 0:
                    progress(f"{phase} {path.name}", handle.tell(), total)
        except ijson.JSONError as error:
            raise DataInclusionFileError(_json_error(path, error)) from error
        if progress:
            progress(f"{phase} {path.name}", total, total)


def _json_error(path, error):
    text = str(error)
    if "UTF8" in text:
        return f"{path} : le fichier n'est pas encodé en UTF-8 (enregistrez-le en UTF-8)."
    if "premature EOF" in text:
        return f"{path} : le fichier JSON est incomplet (coupé avant la fin)."
    return f"{path} : JSON invalide ({text.splitlines()[0].strip()})."


def check_files(paths, progress: Progress | None = None) -> list[tuple[Path, Counter]]:
    """Read every file once (~0.5 s per 100 MB): a broken file is refused before anything is written.

    Returns, for each file, its number of records by kind ("structure", "service"; anything else is
    counted as a structure, the pass that rejects it): a pass skips the files without its kind.
    """
    return [
        (
            path,
            Counter(
                "service" if isinstance(record, dict) and _is_service(record) else "structure"
                for record in _records(path, progress, "lecture")
            ),
        )
        for path in map(Path, paths)
    ]


def _is_service(record: dict) -> bool:
    return not SERVICE_KEYS.isdisjoint(record)


# --- Validation --------------------------------------------------------------------------------


def _shown(value, limit=60):
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def french_errors(error) -> str:
    """A pydantic ValidationError of the schema's models, in French, one clause per error."""
    clauses = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"] if not isinstance(part, int)]
        name = loc[0] if loc else "enregistrement"
        kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
        if kind == "missing":
            clauses.append(f"champ obligatoire manquant : {name}")
        elif name in FIELD_FORMATS and kind.startswith("string"):
            clauses.append(f"{name} : « {_shown(value)} » n'est pas {FIELD_FORMATS[name]}")
        elif kind == "string_too_short":
            clauses.append(f"{name} : trop court ({ctx.get('min_length')} caractères au moins)")
        elif kind == "string_too_long":
            clauses.append(f"{name} : trop long ({ctx.get('max_length')} caractères au plus)")
        elif kind == "enum":
            clauses.append(f"{name} : code inconnu « {_shown(value)} »")
        elif name == "courriel":
            clauses.append(f"courriel : « {_shown(value)} » n'est pas une adresse électronique valide")
        elif kind.startswith("url"):
            clauses.append(f"{name} : « {_shown(value)} » n'est pas une adresse web valide")
        elif kind.startswith(("date", "datetime")):
            clauses.append(f"{name} : « {_shown(value)} » n'est pas une date valide (AAAA-MM-JJ)")
        elif kind in {"set_type", "list_type"}:
            clauses.append(f"{name} : une liste de codes est attendue")
        elif kind == "value_error" and ctx.get("error"):
            # The schema's own validators speak French ("ne peut pas être dans le futur").
            clauses.append(f"{name} : {ctx['error']}")
        elif kind == "too_short":
            clauses.append(f"{name} : au moins une valeur est attendue")
        else:
            clauses.append(f"{name} : valeur invalide « {_shown(value)} »")
    return " ; ".join(dict.fromkeys(clauses))


def _clean_siret(record: dict) -> dict:
    """An integral float SIRET (``13003013300016.0``) is the 14-digit number it was before a spreadsheet."""
    siret = record.get("siret")
    integral = isinstance(siret, float | int) and not isinstance(siret, bool) and siret == int(siret)
    if integral and 0 < siret < 10**14:
        return {**record, "siret": f"{int(siret):014d}"}
    return record


def _validate(model, record, path, kind, report):
    """The schema's model for ``record``, or None after reporting it."""
    from pydantic import ValidationError

    if not isinstance(record, dict):
        report.reject(kind, "", "enregistrement illisible (un objet JSON est attendu)", path)
        return None
    try:
        return model.model_validate(record)
    except ValidationError as error:
        report.reject(kind, _shown(record.get("id") or "", 120), french_errors(error), path)
        return None


# --- Digests: an unchanged record is not read again -------------------------------------------

# Bump when the mapping from records to our fields changes: every record is then compared again.
MAPPING_VERSION = 1


def record_digest(record: dict, *context) -> str:
    """Digest of a source record as read (plus ``context``: its structure's hours for a service), stored
    on the row it wrote. A re-import finds the same digest on an active row: nothing to validate,
    map or compare, the record is unchanged."""
    text = json.dumps([MAPPING_VERSION, record, *context], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _raw_key(record, id_field="id"):
    """(source, id) of a raw record, or None when either is missing."""
    source, source_id = record.get("source"), record.get(id_field)
    return (str(source), str(source_id)) if source and source_id else None


def _known_digests(model, keys, active=False):
    """{(source, source_id): digest} of the rows of ``keys`` (the active ones only, with ``active``)."""
    rows = model.objects.filter(_key_filter(key for key in keys if key))
    # is_active read, not filtered on: the filter would lead SQLite to the active services' index.
    fields = ["source", "source_id", "import_digest", *(["is_active"] if active else [])]
    return {(row[0], row[1]): row[2] for row in rows.values_list(*fields) if not active or row[3]}


# --- Values ----------------------------------------------------------------------------------


def _text(value) -> str:
    """Free text as we store it: CRLF and CR become LF, surrounding blanks dropped."""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _cut(value, length):
    text = _text(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def _url(value, what, key, report):
    if value is None:
        return ""
    url = str(value)
    if len(url) > URL_MAX_LENGTH:
        report.warnings.append(f"{key} : {what} de plus de {URL_MAX_LENGTH} caractères non repris.")
        return ""
    return url


def _phone(value):
    """One number, as the schema asks; a list of numbers keeps the first one that fits."""
    text = _text(value)
    if len(text) <= PHONE_MAX_LENGTH:
        return text
    first = re.split(r"\s*(?:/|;|,|\bou\b)\s*", text)[0]
    return first if len(first) <= PHONE_MAX_LENGTH else ""


def _key_filter(keys) -> Q:
    """One Q matching (source, source_id) pairs, grouped by source. It repeats the condition of the
    partial unique index on the key: SQLite only uses a partial index when the query states its
    condition (without it, each look-up scanned the table: a re-import grew with the square of its size)."""
    by_source = defaultdict(set)
    for source, source_id in keys:
        by_source[source].add(source_id)
    query = Q(pk__in=[])
    for source, ids in by_source.items():
        query |= Q(source=source, source_id__in=ids)
    return ~Q(source="") & query


# --- Structures → organisations ----------------------------------------------------------------


def _import_structure_records(batch, report, rejected_structures, compare_all=False):
    """``batch`` [(path, raw record)]: records whose digest an organisation already holds are counted
    unchanged; the others are validated, then created or updated."""
    from data_inclusion.schema import v1 as schema

    known = {} if compare_all else _known_digests(Organisation, [_raw_key(record) for _, record in batch])
    validated = []
    for path, record in batch:
        key, digest = _raw_key(record), record_digest(record)
        if key in known and known[key] == digest:
            report.structures["unchanged"] += 1
            continue
        structure = _validate(schema.Structure, _clean_siret(record), path, "structure", report)
        if structure is None:
            rejected_structures.add(key)
        else:
            validated.append((path, structure, digest))
    if validated:
        _import_structures(validated, report)


def _import_structures(batch, report):
    """One transaction: create or update the organisations of ``batch`` [(path, Structure, digest)]."""
    with transaction.atomic():
        keys = [(structure.source, structure.id) for _, structure, _ in batch]
        existing = {(o.source, o.source_id): o for o in Organisation.objects.filter(_key_filter(keys))}
        sirets = {structure.siret for _, structure, _ in batch if structure.siret}
        holders = dict(Organisation.objects.filter(siret__in=sirets).values_list("siret", "pk"))
        to_create, to_update, renamed = [], [], []
        for _, structure, digest in batch:
            key = (structure.source, structure.id)
            organisation = existing.get(key)
            values = {
                "name": _cut(structure.nom, 255),
                "siret": structure.siret or "",
                "website": _url(structure.site_web, "site web", structure.id, report),
                "opening_hours": _text(structure.horaires_accueil),
            }
            holder = holders.get(values["siret"])
            if values["siret"] and holder is not None and holder != getattr(organisation, "pk", None):
                report.warnings.append(
                    f"{structure.id} : SIRET {values['siret']} déjà porté par une autre organisation, non repris."
                )
                values["siret"] = organisation.siret if organisation else ""
            if values["siret"]:
                holders[values["siret"]] = getattr(organisation, "pk", key)
            if organisation is None:
                to_create.append(
                    Organisation(
                        source=structure.source,
                        source_id=structure.id,
                        legal_kind=LegalKind.OTHER,
                        import_digest=digest,
                        **values,
                    )
                )
                report.structures["created"] += 1
                continue
            changed = any(getattr(organisation, name) != value for name, value in values.items())
            if changed and organisation.name != values["name"]:
                renamed.append(organisation.pk)
            if changed or organisation.import_digest != digest:
                for name, value in {**values, "import_digest": digest}.items():
                    setattr(organisation, name, value)
                to_update.append(organisation)
            report.structures["updated" if changed else "unchanged"] += 1
        Organisation.objects.bulk_create(to_create)
        if to_update:
            Organisation.objects.bulk_update(to_update, ORGANISATION_FIELDS)
        if renamed:  # the organisation's name is in its services' search text
            search_index.index_services(
                Service.objects.filter(organisation_id__in=renamed).values_list("pk", flat=True)
            )


# --- Services ----------------------------------------------------------------------------------


@dataclass
class _Referentials:
    """{schema field: {code: pk}} and the national pks each relation owns, loaded once per import."""

    codes: dict
    national: dict

    @classmethod
    def load(cls):
        codes, national = {}, {}
        for relation, model, schema_field in SERVICE_RELATIONS:
            rows = list(model.objects.values_list("code", "pk", "is_national"))
            codes[schema_field] = {code: pk for code, pk, _ in rows}
            national[relation] = {pk for _, pk, is_national in rows if is_national}
        return cls(codes, national)


def _codes(value):
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    return sorted(str(getattr(code, "value", code)) for code in values)


def _places_for(services):
    """The communes and postcodes a batch of schema services names, for ``_place``: two queries."""
    insee_codes = {service.code_insee for service in services if service.code_insee}
    communes = {
        row[0]: row
        for row in Commune.objects.filter(insee_code__in=insee_codes).values_list(
            "insee_code", "latitude", "longitude", "search_name", "population"
        )
    }
    postcodes = defaultdict(list)
    wanted_postcodes = {service.code_postal for service in services if service.code_postal}
    for code, *commune in Postcode.objects.filter(code__in=wanted_postcodes).values_list(
        "code",
        "commune_id",
        "commune__latitude",
        "commune__longitude",
        "commune__search_name",
        "commune__population",
    ):
        postcodes[code].append(tuple(commune))
    return communes, postcodes


def _place(service, communes, postcodes):
    """(commune pk, latitude, longitude): the commune by INSEE code, else by postcode; the record's
    coordinates when both are given and valid, else the commune's."""
    commune = communes.get(service.code_insee)
    if commune is None and service.code_postal:
        candidates = postcodes.get(service.code_postal, [])
        wanted = normalize(service.commune or "")
        named = [c for c in candidates if c[3] == wanted]
        # Several communes share a postcode: the one named by the record, else the most populated.
        commune = (named or sorted(candidates, key=lambda c: -(c[4] or 0)) or [None])[0]
    latitude, longitude = service.latitude, service.longitude
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        latitude, longitude = (commune[1], commune[2]) if commune else (None, None)
    return (commune[0] if commune else None), latitude, longitude


def _referral(service):
    modes = set(_codes(service.modes_mobilisation))
    mode = next((ours for code, ours in REFERRAL_MODES if code in modes), None)
    if mode is None:
        mode = ReferralMode.FORM if service.lien_mobilisation else ReferralMode.PHONE
    parts = [
        _text(service.mobilisation_precisions),
        f"Conditions d'accès : {_text(service.conditions_acces)}" if service.conditions_acces else "",
        f"Frais : {_text(service.frais_precisions)}" if service.frais_precisions else "",
        f"Contact : {_text(service.contact_nom_prenom)}" if service.contact_nom_prenom else "",
    ]
    return mode, "\n\n".join(part for part in parts if part)


def _service_values(service, organisation, place, report):
    """The values of the fields the import owns; ``organisation``: (pk, its opening hours)."""
    commune_pk, latitude, longitude = place
    address = ", ".join(_text(part) for part in (service.adresse, service.complement_adresse) if part)
    mode, details = _referral(service)
    return {
        "organisation_id": organisation[0],
        "name": _cut(service.nom, 255),
        "description": _text(service.description),
        "commune_id": commune_pk,
        "address": _cut(address, 255),
        "postcode": service.code_postal or "",
        "latitude": latitude,
        "longitude": longitude,
        # No hours of its own: the structure's (a service of a town hall keeps the town hall's hours).
        "opening_hours": _text(service.horaires_accueil) or organisation[1],
        "phone": _phone(service.telephone),
        "email": service.courriel or "",
        "website": _url(service.lien_mobilisation, "lien de mobilisation", service.id, report),
        "referral_mode": mode,
        "referral_details": details,
        "verified_on": service.date_maj,
        "is_active": True,
    }


def _import_service_records(batch, report, refs, rejected_structures, compare_all=False):
    """``batch`` [(path, raw record)]: records whose digest (with their structure's hours) an active
    service already holds are counted unchanged; the others are validated, then created or updated."""
    from data_inclusion.schema import v1 as schema

    known = (
        {} if compare_all else _known_digests(Service, [_raw_key(record) for _, record in batch], active=True)
    )
    structure_keys = {_raw_key(record, "structure_id") for _, record in batch}
    hours = {
        (source, source_id): opening_hours
        for source, source_id, opening_hours in Organisation.objects.filter(
            _key_filter(structure_keys - {None})
        ).values_list("source", "source_id", "opening_hours")
    }
    validated = []
    for path, record in batch:
        key = _raw_key(record)
        digest = record_digest(record, hours.get(_raw_key(record, "structure_id"), ""))
        if key in known and known[key] == digest:
            report.services["unchanged"] += 1
            continue
        service = _validate(schema.Service, record, path, "service", report)
        if service is not None:
            validated.append((path, service, digest))
    if validated:
        _import_services(validated, report, refs, rejected_structures)


def _import_services(batch, report, refs, rejected_structures):
    """One transaction: create or update the services of ``batch`` [(path, Service, digest)]."""
    with transaction.atomic():
        keys = [(service.source, service.id) for _, service, _ in batch]
        existing = {(s.source, s.source_id): s for s in Service.objects.filter(_key_filter(keys))}
        current = defaultdict(lambda: defaultdict(set))  # relation → service pk → national pks
        if existing:
            existing_pks = [service.pk for service in existing.values()]
            for relation, _, _ in SERVICE_RELATIONS:
                through, source_column, target_column = _through(relation)
                rows = through.objects.filter(**{f"{source_column}__in": existing_pks}).values_list(
                    source_column, target_column
                )
                for service_pk, target_pk in rows:
                    if target_pk in refs.national[relation]:
                        current[relation][service_pk].add(target_pk)
        structure_keys = {(service.source, service.structure_id) for _, service, _ in batch}
        organisations = {
            (source, source_id): (pk, hours)
            for source, source_id, pk, hours in Organisation.objects.filter(
                _key_filter(structure_keys)
            ).values_list("source", "source_id", "pk", "opening_hours")
        }
        communes, postcodes = _places_for([service for _, service, _ in batch])

        to_create, to_update, reindexed = [], [], []
        relations = []  # (Service, {relation: pks}, replace)
        for path, service, digest in batch:
            structure_key = (service.source, service.structure_id)
            organisation = organisations.get(structure_key)
            if organisation is None:
                reason = (
                    f"sa structure « {service.structure_id} » a été rejetée"
                    if structure_key in rejected_structures
                    else f"structure « {service.structure_id} » inconnue (absente des fichiers et de l'annuaire)"
                )
                report.reject("service", service.id, reason, path)
                continue
            wanted, unknown = {}, []
            for relation, _, schema_field in SERVICE_RELATIONS:
                pks = set()
                for code in _codes(getattr(service, schema_field)):
                    pk = refs.codes[schema_field].get(code)
                    if pk is None:
                        unknown.append(f"{schema_field} : code « {code} » absent des référentiels de Réseau")
                    else:
                        pks.add(pk)
                wanted[relation] = pks
            if unknown:
                report.reject(
                    "service", service.id, " ; ".join(unknown) + " (lancez load_referentials)", path
                )
                continue
            values = _service_values(service, organisation, _place(service, communes, postcodes), report)
            row = existing.get((service.source, service.id))
            if row is None:
                row = Service(source=service.source, source_id=service.id, import_digest=digest, **values)
                to_create.append(row)
                relations.append((row, wanted, False))
                report.services["created"] += 1
                continue
            changed_fields = any(getattr(row, name) != value for name, value in values.items())
            changed_relations = {
                relation: pks for relation, pks in wanted.items() if current[relation][row.pk] != pks
            }
            if changed_fields or row.import_digest != digest:
                for name, value in {**values, "import_digest": digest}.items():
                    setattr(row, name, value)
                to_update.append(row)
            if changed_fields:
                reindexed.append(row)
            if changed_relations:
                relations.append((row, changed_relations, True))
            report.services["updated" if changed_fields or changed_relations else "unchanged"] += 1

        Service.objects.bulk_create(to_create)
        if to_update:
            Service.objects.bulk_update(to_update, SERVICE_FIELDS)
        _write_relations(relations, refs)
        search_index.index_services(
            [row.pk for row in to_create + reindexed] + [r.pk for r, _, _ in relations]
        )


def _through(relation):
    field = Service._meta.get_field(relation)
    return field.remote_field.through, field.m2m_field_name(), field.m2m_reverse_field_name()


def _write_relations(relations, refs):
    """Replace the national rows of each relation that changed; local rows stay. Two queries a relation."""
    for relation, _, _ in SERVICE_RELATIONS:
        through, source_column, target_column = _through(relation)
        replaced = [row.pk for row, wanted, replace in relations if replace and relation in wanted]
        if replaced:
            through.objects.filter(
                **{f"{source_column}__in": replaced, f"{target_column}__in": refs.national[relation]}
            ).delete()
        rows = [
            through(**{f"{source_column}_id": row.pk, f"{target_column}_id": pk})
            for row, wanted, _ in relations
            for pk in sorted(wanted.get(relation, ()))
        ]
        if rows:
            through.objects.bulk_create(rows, ignore_conflicts=True)


def _deactivate_missing(source, seen, report, batch_size):
    """Deactivate (never delete) the active services of ``source`` whose key was not in the files."""
    if not any(key_source == source for key_source, _ in seen):
        report.warnings.append(
            f"Aucun service de la source « {source} » dans les fichiers : aucun service n'a été désactivé."
        )
        return
    missing = [
        pk
        for pk, source_id in Service.objects.filter(source=source, is_active=True)
        .values_list("pk", "source_id")
        .iterator(chunk_size=5000)
        if (source, source_id) not in seen
    ]
    for start in range(0, len(missing), batch_size):
        with transaction.atomic():
            report.services["deactivated"] += Service.objects.filter(
                pk__in=missing[start : start + batch_size]
            ).update(is_active=False)


def _write_batch(write, batch, report, kind, *args):
    """Write a batch in its transaction; if the database refuses it, retry its records one by one so
    that only the refused ones are rejected (counts restored first: nothing of the failed try is kept)."""
    snapshot = (report.structures.copy(), report.services.copy(), len(report.rejections))
    try:
        write(batch, report, *args)
    except DatabaseError as error:
        report.structures, report.services = snapshot[0], snapshot[1]
        del report.rejections[snapshot[2] :]
        if len(batch) == 1:
            path, record = batch[0]  # a raw record
            message = _shown(str(error).splitlines()[0] if str(error) else type(error).__name__, 200)
            report.reject(
                kind, str(record.get("id") or ""), f"refusé par la base de données ({message})", path
            )
            return
        for item in batch:
            _write_batch(write, [item], report, kind, *args)


# --- Entry point -------------------------------------------------------------------------------


def import_data_inclusion(
    paths,
    *,
    deactivate_missing: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    compare_all: bool = False,
) -> ImportReport:
    """Import the structures and services of ``paths`` (see the module docstring).

    Raises DataInclusionFileError, before writing anything, when a file cannot be read as JSON.
    """
    paths = [Path(path) for path in paths]
    kinds = check_files(paths, progress)
    report = ImportReport(dry_run=dry_run)
    for path, count in kinds:
        if not count.total():
            report.warnings.append(
                f"{path} : aucun enregistrement trouvé (une liste d'enregistrements ou une page "
                '{"items": [...]} est attendue).'
            )
    with search_index_paused():  # bulk writes: the index is fed once per batch
        if dry_run:
            with transaction.atomic():
                _run(kinds, report, deactivate_missing, progress, batch_size, compare_all)
                transaction.set_rollback(True)
        else:
            try:
                _run(kinds, report, deactivate_missing, progress, batch_size, compare_all)
            finally:
                # Services (de)activated in bulk, without signals; committed batches count even on failure.
                partnerships_changed()
    return report


def _refresh_statistics(model, batches_written=0):
    """ANALYZE ``model``'s table on PostgreSQL at the start of a pass and every ANALYZE_EVERY_BATCHES
    batches: the key look-ups are planned from its statistics, missing or stale after a bulk load,
    and PostgreSQL then reads every row of the source for each batch (measured at 150 000 services:
    321 ms a batch of 500 instead of 2 ms; a re-import with no change took 99 s). ANALYZE reads a
    sample: about a second at that size. SQLite plans from the index alone.

    For services, the same statement analyzes their thématiques' link table, which each batch's
    search vectors read: without its statistics PostgreSQL probed it once per thématique for each
    service (EXPLAIN ANALYZE, 500 services: 1.6 s instead of 40 ms; most of a first import's server time)."""
    if connection.vendor == "postgresql" and batches_written % ANALYZE_EVERY_BATCHES == 0:
        tables = [model._meta.db_table]
        if model is Service:
            tables.append(Service.domains.through._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(map(connection.ops.quote_name, tables))}")


def _run(kinds, report, deactivate_missing, progress, batch_size, compare_all):
    """``kinds``: check_files() of the paths. Structures first (pass 1 over the files holding some),
    services second (pass 2): a service may precede its structure."""
    seen_structures, rejected_structures, batch = set(), set(), []
    written = 0
    _refresh_statistics(Organisation)
    for path in [path for path, count in kinds if count["structure"]]:
        for record in _records(path, progress, "structures"):
            if isinstance(record, dict) and _is_service(record):
                continue
            if not isinstance(record, dict):
                report.reject("structure", "", "enregistrement illisible (un objet JSON est attendu)", path)
                continue
            key = _raw_key(record)
            if key in seen_structures:
                report.reject("structure", key[1], "identifiant en double dans les fichiers", path)
                continue
            if key:
                seen_structures.add(key)
            batch.append((path, record))
            if len(batch) >= batch_size:
                _write_batch(
                    _import_structure_records, batch, report, "structure", rejected_structures, compare_all
                )
                batch = []
                written += 1
                _refresh_statistics(Organisation, written)
    if batch:
        _write_batch(_import_structure_records, batch, report, "structure", rejected_structures, compare_all)
    del seen_structures

    refs = _Referentials.load()
    seen_services, batch = set(), []
    written = 0
    _refresh_statistics(Service)
    for path in [path for path, count in kinds if count["service"]]:
        for record in _records(path, progress, "services"):
            if not (isinstance(record, dict) and _is_service(record)):
                continue
            key = _raw_key(record)
            if key:
                # Present in the file, even when rejected below: not "missing" for --deactivate-missing.
                if key in seen_services:
                    report.reject("service", key[1], "identifiant en double dans les fichiers", path)
                    continue
                seen_services.add(key)
            batch.append((path, record))
            if len(batch) >= batch_size:
                _write_batch(
                    _import_service_records, batch, report, "service", refs, rejected_structures, compare_all
                )
                batch = []
                written += 1
                _refresh_statistics(Service, written)
    if batch:
        _write_batch(
            _import_service_records, batch, report, "service", refs, rejected_structures, compare_all
        )
    if deactivate_missing:
        _deactivate_missing(deactivate_missing, seen_services, report, batch_size)


# --- Export ------------------------------------------------------------------------------------

EXPORT_SOURCE = "reseau"
SCHEMA_NAME_MAX = 150
SCHEMA_TEXT_MAX = 10_000
# Our referral mode → the schema's modes de mobilisation.
MOBILISATION = {
    ReferralMode.FORM: "utiliser-lien-mobilisation",
    ReferralMode.EMAIL: "envoyer-un-courriel",
    ReferralMode.PHONE: "telephoner",
    ReferralMode.WALK_IN: "se-presenter",
}


@dataclass
class ExportReport:
    structures: int = 0
    services: int = 0
    skipped: list[str] = field(default_factory=list)  # records left out, with the French reason
    dropped: Counter = field(default_factory=Counter)  # (kind, field) → values the schema refused

    def summary(self) -> list[str]:
        lines = [f"{self.structures} structure(s) et {self.services} service(s) exporté(s)."]
        lines += [f"Écarté : {reason}" for reason in self.skipped]
        lines += [
            f"Remarque : {count} {kind}(s) exporté(s) sans « {name} », valeur refusée par le schéma."
            for (kind, name), count in sorted(self.dropped.items())
        ]
        return lines


def _export_id(pk):
    """Our id in the schema's form: the producer, then our primary key ("reseau--42")."""
    return f"{EXPORT_SOURCE}--{pk}"


def _export_date(value, fallback):
    day = value or fallback
    return min(max(day, datetime.date(2000, 1, 1)), datetime.date.today())


def _schema_text(value, minimum=0):
    text = _text(value)
    if len(text) < max(minimum, 1):
        return None
    return text if len(text) <= SCHEMA_TEXT_MAX else text[: SCHEMA_TEXT_MAX - 1] + "…"


def _structure_record(organisation):
    return {
        "source": EXPORT_SOURCE,
        "id": _export_id(organisation.pk),
        "nom": _cut(organisation.name, SCHEMA_NAME_MAX),
        "date_maj": _export_date(organisation.updated_at.date(), None).isoformat(),
        "siret": organisation.siret or None,
        "site_web": organisation.website or None,
        "horaires_accueil": organisation.opening_hours or None,
    }


def _national_codes(rows):
    return sorted(row.code for row in rows if row.is_national)


def _service_record(service):
    publics = _national_codes(service.publics.all())
    if "tous-publics" in publics and len(publics) > 1:
        publics.remove("tous-publics")  # the schema forbids it with other publics
    fees = _national_codes(service.fees.all())
    types = _national_codes(service.service_types.all())
    description = _schema_text(service.description, 5) or (
        f"Service « {service.name} » de {service.organisation.name}."
    )
    commune = service.commune
    return {
        "source": EXPORT_SOURCE,
        "structure_id": _export_id(service.organisation_id),
        "id": _export_id(service.pk),
        "nom": _cut(service.name, SCHEMA_NAME_MAX),
        "description": _schema_text(description),
        "date_maj": _export_date(service.verified_on, service.updated_at.date()).isoformat(),
        "type": types[0] if types else None,
        "thematiques": sorted(d.code for d in service.domains.all() if d.is_national and d.parent_id) or None,
        "frais": ("payant" if "payant" in fees else fees[0]) if fees else None,
        "publics": publics or None,
        "modes_accueil": _national_codes(service.access_modes.all()) or None,
        "code_postal": service.postcode or None,
        "code_insee": service.commune_id,
        "commune": commune.name if commune else None,
        "adresse": service.address or None,
        "latitude": service.latitude,
        "longitude": service.longitude,
        "telephone": service.phone or None,
        "courriel": service.email or None,
        "lien_mobilisation": service.website or None,
        "modes_mobilisation": [MOBILISATION[service.referral_mode]],
        "mobilisable_par": ["professionnels"],
        "mobilisation_precisions": _schema_text(service.referral_details),
        "horaires_accueil": service.opening_hours or None,
        "zone_eligibilite": sorted(c.pk for c in service.intervention_communes.all()) or None,
    }


def _checked(model, record, kind, report):
    """``record`` without its None values, validated by the schema's model; optional values the model
    refuses are left out (and counted); None when a required one is refused (reported)."""
    from pydantic import ValidationError

    record = {name: value for name, value in record.items() if value is not None}
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    for _ in range(2):
        try:
            model.model_validate(record)
            return record
        except ValidationError as error:
            refused = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
            if refused & required or not refused:
                report.skipped.append(f"{kind} {record.get('id')} : {french_errors(error)}")
                return None
            for name in refused:
                report.dropped[(kind, name)] += 1
                record.pop(name, None)
    return None


class _JsonListWriter:
    """Writes a JSON list one record per line into ``path``, through a temporary file renamed at the end:
    a reader never sees half a file."""

    def __init__(self, path):
        self.path, self.temporary = path, path.with_name(f".{path.name}.tmp")
        self.handle, self.count = self.temporary.open("w", encoding="utf-8"), 0

    def write(self, record):
        self.handle.write(("[\n" if self.count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        self.count += 1

    def close(self):
        self.handle.write("[]\n" if self.count == 0 else "\n]\n")
        self.handle.close()
        self.temporary.replace(self.path)

    def abort(self):
        self.handle.close()
        self.temporary.unlink(missing_ok=True)


def export_data_inclusion(directory) -> ExportReport:
    """Write ``structures.json`` and ``services.json`` (schema v1, source ``reseau``) into ``directory``.

    What is exported: the services typed in Réseau (no data·inclusion key: imported ones belong to their
    source) that are active, and their organisations plus every organisation typed in Réseau. Ids are
    ours (``reseau--<pk>``). Each record is validated by the schema's models before it is written.
    Streamed in chunks (prefetching per chunk): memory does not grow with the directory.
    """
    from data_inclusion.schema import v1 as schema

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    services = Service.objects.filter(source="", is_active=True)
    organisations = Organisation.objects.filter(Q(source="") | Q(pk__in=services.values("organisation_id")))
    writers = []
    try:
        writer = _JsonListWriter(directory / "structures.json")
        writers.append(writer)
        exported = set()  # organisations written: a service needs its structure in the file
        for organisation in organisations.order_by("pk").iterator(chunk_size=2000):
            record = _checked(schema.Structure, _structure_record(organisation), "structure", report)
            if record:
                writer.write(record)
                exported.add(organisation.pk)
        report.structures = writer.count
        writer = _JsonListWriter(directory / "services.json")
        writers.append(writer)
        rows = (
            services.select_related("organisation", "commune")
            .prefetch_related(
                "domains", "publics", "fees", "service_types", "access_modes", "intervention_communes"
            )
            .order_by("pk")
        )
        for service in rows.iterator(chunk_size=2000):
            if service.organisation_id not in exported:
                report.skipped.append(
                    f"service {_export_id(service.pk)} : sa structure {_export_id(service.organisation_id)} "
                    "a été écartée"
                )
                continue
            record = _checked(schema.Service, _service_record(service), "service", report)
            if record:
                writer.write(record)
        report.services = writer.count
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    for writer in writers:
        writer.close()
    return report
