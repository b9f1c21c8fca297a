"""The routing's candidate statement for one small case, for the plan tests of both databases."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from referrals.routing_data import routing_for_case
from tests.factories import CaseFactory, CommuneFactory, DomainFactory, ServiceFactory


def candidate_statement() -> str:
    """The SQL of the candidate query (referrals.routing_data._candidate_rows) for a one-need case
    around Rennes that one service meets, as the routing ran it."""
    rennes = CommuneFactory(latitude=48.1119, longitude=-1.6809)
    food = DomainFactory()
    ServiceFactory(domains=[food], latitude=48.1119, longitude=-1.6809)
    case = CaseFactory(commune=rennes, needs=[food])
    with CaptureQueriesContext(connection) as captured:
        assert routing_for_case(case, radius_km=20, official_ids=set(), limit=1).candidate_count == 1
    (sql,) = [query["sql"] for query in captured.captured_queries if "ROW_NUMBER(" in query["sql"]]
    return sql
