"""Relevance of the directory search on real-world services (issue 13), shared by the pytest floor
(tests/partners/test_relevance.py) and ``make bench`` (scripts/bench_relevance.py).

``tests/data/relevance/directory.json``: 73 structures and 206 services in the data·inclusion schema
(v1), written after the national dataset's records (its descriptions, thématiques and producers;
the national dataset cannot be downloaded here). ``queries.json``: what workers type, with the
thématiques that answer each. A service answers a query when it has one of them.

Precision of a query: the share of answering services among its first 10 results (among all of
them when there are fewer); a search that returns nothing scores 0. Recall in the first 10, so that
returning one sure result cannot pass for relevance: the answering services among the first 10
results over 10, or over their number when fewer services of the set answer the query.
"""

import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "relevance"
DIRECTORY_PATH = DATA / "directory.json"
QUERIES_PATH = DATA / "queries.json"
TOP = 10


@dataclass
class QueryResult:
    query: str
    answering: int  # services of the set that answer the query
    found: int  # results of the search (all of them, not only the first 10)
    precision: float
    recall: float
    naive_precision: float
    naive_recall: float
    first_wrong: list[str]  # names among the first results that do not answer


def queries():
    return json.loads(QUERIES_PATH.read_text(encoding="utf-8"))


def load_directory():
    """Referentials, synonyms and the relevance directory, through the data·inclusion import."""
    from partners.data_inclusion import import_data_inclusion
    from partners.referentials import load_referentials
    from partners.search_index import rebuild_search_index
    from partners.synonyms import load_synonyms

    load_referentials()
    load_synonyms()
    report = import_data_inclusion([DIRECTORY_PATH])
    assert not report.rejections, report.rejections
    rebuild_search_index()


def _answering_ids(codes):
    from partners.models import Service

    return set(Service.objects.filter(domains__code__in=codes, is_active=True).values_list("pk", flat=True))


def naive_search(text):
    """The baseline: every word as a substring of the name, organisation or description (accents and
    case ignored), freshest first — what a plain ``icontains`` search does."""
    from partners.models import Service
    from partners.text import normalize

    words = [word for word in normalize(text).split() if len(word) > 1]
    rows = Service.objects.filter(is_active=True).values_list(
        "pk", "name", "organisation__name", "description", "verified_on"
    )
    matching = [row for row in rows if all(word in normalize(" ".join(row[1:4])) for word in words)]
    matching.sort(key=lambda row: (row[4] is None, -(row[4].toordinal() if row[4] else 0), row[1], row[0]))
    return [row[0] for row in matching]


def _precision(found_ids, answering):
    first = found_ids[:TOP]
    return sum(1 for pk in first if pk in answering) / len(first) if first else 0.0


def _recall(found_ids, answering):
    top = min(TOP, len(answering))
    return sum(1 for pk in found_ids[:TOP] if pk in answering) / top if top else 0.0


def measure() -> list[QueryResult]:
    from partners.models import Service
    from partners.search import SearchParams, search_services

    results = []
    for item in queries():
        answering = _answering_ids(item["thematiques"])
        outcome = search_services(SearchParams(text=item["q"]))
        found = [service.pk for service in outcome.queryset[:TOP]]
        naive = naive_search(item["q"])
        wrong = [pk for pk in found if pk not in answering]
        results.append(
            QueryResult(
                query=item["q"],
                answering=len(answering),
                found=outcome.count,
                precision=_precision(found, answering),
                recall=_recall(found, answering),
                naive_precision=_precision(naive, answering),
                naive_recall=_recall(naive, answering),
                first_wrong=list(Service.objects.filter(pk__in=wrong).values_list("name", flat=True)),
            )
        )
    return results


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else 0.0
