"""Load the vendored list of French communes (``data/communes_fr.csv.gz``) into Commune and Postcode.

The file is built by ``scripts/build_communes.py``; its columns are
``insee_code,name,department,population,postcodes,latitude,longitude`` (postcodes space-separated,
population and coordinates possibly empty).
"""

import csv
import gzip
from pathlib import Path

from django.db import transaction

from .models import Commune, Postcode
from .text import normalize

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "communes_fr.csv.gz"
COLUMNS = ["insee_code", "name", "department", "population", "postcodes", "latitude", "longitude"]
UPDATED_FIELDS = ["name", "search_name", "department", "population", "latitude", "longitude"]
# Stay well under SQLite's limit of variables per statement for ``pk__in`` lists.
_DELETE_CHUNK = 900


def _optional(value, cast):
    value = value.strip()
    return cast(value) if value else None


def read_communes(path=DEFAULT_PATH):
    """Parse the file into ``({insee_code: values}, {(insee_code, postcode), ...})``.

    ``values`` is a tuple ordered as ``UPDATED_FIELDS``, ``search_name`` included.
    """
    communes, postcodes = {}, set()
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path}: expected columns {COLUMNS}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            code = row["insee_code"].strip()
            if code in communes:
                raise ValueError(f"{path}, line {line}: duplicate INSEE code {code}")
            name = row["name"].strip()
            communes[code] = (
                name,
                normalize(name),  # bulk operations bypass Commune.save(), which sets it
                row["department"].strip(),
                _optional(row["population"], int),
                _optional(row["latitude"], float),
                _optional(row["longitude"], float),
            )
            postcodes.update((code, postcode) for postcode in row["postcodes"].split())
    return communes, postcodes


@transaction.atomic
def load_communes(*, path=DEFAULT_PATH, batch_size=2000):
    """Create or update the communes of the file, and their postcodes, in one transaction.

    Idempotent: a second run changes nothing. Communes absent from the file are kept (services may
    point to them); the postcodes of the file's communes are made to match the file exactly.
    Returns counts: ``communes`` (in the file), ``created``, ``updated``, ``unchanged``,
    ``postcodes`` (in the file), ``postcodes_created``, ``postcodes_deleted``.
    """
    communes, postcodes = read_communes(path)

    existing = {
        row[0]: tuple(row[1:])
        for row in Commune.objects.order_by().values_list("insee_code", *UPDATED_FIELDS).iterator()
    }
    created = [code for code in communes if code not in existing]
    updated = [code for code, values in communes.items() if code in existing and existing[code] != values]
    # One upsert for both: safe even if another process created some of them meanwhile.
    Commune.objects.bulk_create(
        [
            Commune(insee_code=code, **dict(zip(UPDATED_FIELDS, communes[code], strict=True)))
            for code in created + updated
        ],
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["insee_code"],
        update_fields=UPDATED_FIELDS,
    )

    stale_ids, present = [], set()
    for pk, commune_id, code in (
        Postcode.objects.order_by().values_list("pk", "commune_id", "code").iterator()
    ):
        if commune_id not in communes:
            continue  # a commune the file no longer lists: left alone
        if (commune_id, code) in postcodes:
            present.add((commune_id, code))
        else:
            stale_ids.append(pk)
    for start in range(0, len(stale_ids), _DELETE_CHUNK):
        Postcode.objects.filter(pk__in=stale_ids[start : start + _DELETE_CHUNK]).delete()
    missing = sorted(postcodes - present)
    Postcode.objects.bulk_create(
        [Postcode(commune_id=commune_id, code=code) for commune_id, code in missing],
        batch_size=batch_size,
    )

    return {
        "communes": len(communes),
        "created": len(created),
        "updated": len(updated),
        "unchanged": len(communes) - len(created) - len(updated),
        "postcodes": len(postcodes),
        "postcodes_created": len(missing),
        "postcodes_deleted": len(stale_ids),
    }
