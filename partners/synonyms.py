"""The synonym table of the search: seeded from ``data/synonyms.csv``, edited in the admin, read from
a per-process memory cache.

The search reads the table on every query: it stays in memory, forgotten at once in the process
that saves or deletes a synonym (signals) and, in the other processes (other web workers), after
``CACHE_SECONDS`` at most. A search costs no query for it, but once a minute per process.
"""

import csv
import threading
import time
from pathlib import Path

from django.db import transaction

from .text import content_words, stem

SEED_PATH = Path(__file__).resolve().parent / "data" / "synonyms.csv"
CACHE_SECONDS = 60

# Stemmed words of a term -> alternatives, each the accent-free words every one of which must match.
SynonymTable = dict[tuple[str, ...], tuple[tuple[str, ...], ...]]

_lock = threading.Lock()
_cache: dict = {"table": None, "loaded_at": 0.0}


def _words(text: str) -> tuple[str, ...]:
    return tuple(word for word in content_words(text) if len(word) > 1)


def _build(rows) -> SynonymTable:
    table: SynonymTable = {}
    for term, equivalents in rows:
        words = _words(term)
        if not words:
            continue
        alternatives = [words] + [_words(line) for line in equivalents.splitlines()]
        table[tuple(stem(word) for word in words)] = tuple(dict.fromkeys(a for a in alternatives if a))
    return table


def synonym_table() -> SynonymTable:
    """The table, from memory when it was read less than CACHE_SECONDS ago (one query otherwise)."""
    from .models import SearchSynonym

    now = time.monotonic()
    table = _cache["table"]
    if table is None or now - _cache["loaded_at"] > CACHE_SECONDS:
        table = _build(SearchSynonym.objects.values_list("term", "equivalents"))
        with _lock:
            _cache["table"], _cache["loaded_at"] = table, now
    return table


def forget_synonyms() -> None:
    """Drop the cached table: the next search reads it again (after a change)."""
    with _lock:
        _cache["table"] = None


def read_seed(path: Path = SEED_PATH) -> list[tuple[str, list[str]]]:
    """(term, [equivalents]) of the seed file: ``term;equivalent|equivalent…`` with a header row."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        return [
            (row["term"].strip(), [part.strip() for part in row["equivalents"].split("|") if part.strip()])
            for row in reader
            if row["term"].strip()
        ]


@transaction.atomic
def load_synonyms(path: Path = SEED_PATH) -> dict:
    """Add the seed's synonyms that the table lacks (by their search form); never changes or removes
    what is there, so coordinators' edits survive a new run. Returns ``{"created": n, "kept": n}``."""
    from .models import SearchSynonym, synonym_key

    existing = set(SearchSynonym.objects.values_list("key", flat=True))
    created = []
    for term, equivalents in read_seed(path):
        key = synonym_key(term)
        if key in existing:
            continue
        existing.add(key)
        created.append(SearchSynonym(term=term, key=key, equivalents="\n".join(equivalents)))
    SearchSynonym.objects.bulk_create(created)
    forget_synonyms()
    return {"created": len(created), "kept": len(existing) - len(created)}
