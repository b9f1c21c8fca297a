"""Relevance floor: a regression in the words, stemming, synonyms or ranking fails CI (issue 13)."""

import pytest

from tests.relevance import load_directory, mean, measure, queries

pytestmark = pytest.mark.django_db

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.7


def test_relevance_set_has_enough_queries_and_services():
    assert len(queries()) >= 20


def test_precision_of_the_first_ten_results_stays_above_the_floor():
    load_directory()
    results = measure()
    precision = mean(result.precision for result in results)
    report = "\n".join(
        f"{r.query}: precision {r.precision:.2f}, recall {r.recall:.2f} of {r.answering} "
        f"(naive {r.naive_precision:.2f} / {r.naive_recall:.2f}), wrong: {r.first_wrong}"
        for r in results
    )
    assert precision >= PRECISION_FLOOR, report
    assert mean(result.recall for result in results) >= RECALL_FLOOR, report
    # Better than a plain substring search (which "formation" drowns in "information", and which
    # knows neither acronyms nor plurals), and it finds far more of the answering services.
    assert precision >= mean(result.naive_precision for result in results), report
    assert mean(r.recall for r in results) > mean(r.naive_recall for r in results) + 0.2, report
    assert all(result.answering for result in results), report
