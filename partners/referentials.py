"""Load the reference lists from the national schema of inclusion services.

The national schema (PyPI package ``data-inclusion-schema``, module ``data_inclusion.schema.v1``)
gives the thématiques (two levels), the publics and the small lists (modes d'accueil, frais,
types de service). Its slugs are our ``code``s, so national data flows in and out unchanged.

Rules of the loader:

- national rows are upserted by ``code``: created if missing, their label, description (and,
  for a thématique, its category) restored from the schema, ``is_national`` set;
- ``is_active`` is the coordinators' decision: set to true on creation, never changed afterwards
  (a national entry a coordinator deactivated stays deactivated);
- rows with ``is_national=False`` are local additions by coordinators: never touched, even when a
  coordinator used a code the schema also uses;
- nothing is ever deleted (services point at these rows);
- a few local additions useful in France are seeded (home visits, languages): created if missing,
  never overwritten.
"""

from django.db import transaction

from .models import AccessMode, Domain, Fee, Language, Public, ServiceType

# Local additions seeded by the loader: (code, label, description). Created only if missing.
LOCAL_ACCESS_MODES = [
    (
        "a-domicile",
        "À domicile",
        "Le service se déplace au domicile de la personne (ou sur son lieu de vie).",
    ),
]

# ISO 639-1 codes (plus "lsf"), French labels: the languages most often needed in social work in France.
LOCAL_LANGUAGES = [
    ("fr", "Français", ""),
    ("en", "Anglais", ""),
    ("ar", "Arabe", "Arabe standard et dialectes (maghrébins, levantins…)."),
    ("es", "Espagnol", ""),
    ("pt", "Portugais", ""),
    ("ro", "Roumain", ""),
    ("ru", "Russe", ""),
    ("uk", "Ukrainien", ""),
    ("tr", "Turc", ""),
    ("de", "Allemand", ""),
    ("it", "Italien", ""),
    ("fa", "Persan (farsi, dari)", ""),
    ("ps", "Pachto", ""),
    ("ti", "Tigrigna", ""),
    ("so", "Somali", ""),
    ("wo", "Wolof", ""),
    ("zh", "Chinois", "Mandarin et autres langues chinoises."),
    ("sq", "Albanais", ""),
    ("ka", "Géorgien", ""),
    ("lsf", "Langue des signes française", "LSF."),
]


def _national_rows(enum):
    return [(member.value, member.label, member.description or "") for member in enum]


def _upsert_national(model, rows, *, parents=None):
    """Create or restore the national rows of ``model``; return {"created": n, "updated": n}.

    ``rows`` are (code, label, description); ``parents`` (Domain only) maps each code to its
    parent's pk, None for a category.
    """
    parents = parents or {}
    existing = model.objects.in_bulk([code for code, _, _ in rows], field_name="code")
    to_create, to_update = [], []
    for code, label, description in rows:
        values = {"label": label, "description": description}
        if code in parents:
            values["parent_id"] = parents[code]
        row = existing.get(code)
        if row is None:
            to_create.append(model(code=code, is_national=True, is_active=True, **values))
        elif row.is_national and any(getattr(row, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(row, field, value)
            to_update.append(row)
        # A local row (is_national=False) with a national code belongs to the coordinators: untouched.
    model.objects.bulk_create(to_create)
    if to_update:
        model.objects.bulk_update(to_update, ["label", "description", *(["parent"] if parents else [])])
    return {"created": len(to_create), "updated": len(to_update)}


def _create_local(model, rows):
    """Create the local additions that are missing; existing rows are never overwritten."""
    existing = set(
        model.objects.filter(code__in=[code for code, _, _ in rows]).values_list("code", flat=True)
    )
    to_create = [
        model(code=code, label=label, description=description, is_national=False, is_active=True)
        for code, label, description in rows
        if code not in existing
    ]
    model.objects.bulk_create(to_create)
    return {"created": len(to_create), "updated": 0}


def _add(total, counts):
    return {key: total.get(key, 0) + counts[key] for key in counts}


def load_referentials() -> dict:
    """Load or refresh the reference lists; return the counts per model: {"Domain": {"created": n, ...}}.

    Idempotent: a second run creates and updates nothing. One transaction.
    """
    # Imported here: the schema package pulls pydantic and pendulum, not wanted on the request path.
    from data_inclusion.schema import v1 as schema

    with transaction.atomic():
        counts = {}

        categories = _national_rows(schema.Categorie)
        counts["Domain"] = _upsert_national(
            Domain, categories, parents=dict.fromkeys(code for code, _, _ in categories)
        )
        category_pks = dict(
            Domain.objects.filter(code__in=[code for code, _, _ in categories]).values_list("code", "pk")
        )
        thematiques = _national_rows(schema.Thematique)
        parents = {code: category_pks[code.split("--", 1)[0]] for code, _, _ in thematiques}
        counts["Domain"] = _add(counts["Domain"], _upsert_national(Domain, thematiques, parents=parents))

        counts["Public"] = _upsert_national(Public, _national_rows(schema.Public))
        counts["AccessMode"] = _upsert_national(AccessMode, _national_rows(schema.ModeAccueil))
        counts["AccessMode"] = _add(counts["AccessMode"], _create_local(AccessMode, LOCAL_ACCESS_MODES))
        counts["Fee"] = _upsert_national(Fee, _national_rows(schema.Frais))
        counts["ServiceType"] = _upsert_national(ServiceType, _national_rows(schema.TypeService))
        counts["Language"] = _create_local(Language, LOCAL_LANGUAGES)
        if any(count for model_counts in counts.values() for count in model_counts.values()):
            # Bulk writes send no signal: every process reads the lists again (partners.reference_lists).
            from .reference_lists import lists_changed

            lists_changed()
    return counts
