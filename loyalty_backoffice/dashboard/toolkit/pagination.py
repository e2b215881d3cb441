"""Pagination for the lists of big tables (ledger, reward events, audit, deliveries, members).

Django's admin counts the rows of every list it shows (`SELECT COUNT(*)`), which reads the
whole table or the whole filtered set: over a million ledger entries that is the slowest part
of the page, and it grows with the table. Nobody pages through a million rows, so above
`ESTIMATE_ABOVE` rows the list shows PostgreSQL's own estimate (the planner's row count for
the list's query, from the table statistics autovacuum keeps) and counts exactly only below it.
Small results, and every result on other databases, are counted exactly.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

ESTIMATE_ABOVE = 10_000


def planner_row_estimate(queryset) -> int | None:
    """The rows PostgreSQL expects `queryset` to return (EXPLAIN, nothing executed), or None."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    try:
        plan = json.loads(queryset.order_by().explain(format="json"))
        if isinstance(plan, list):
            plan = plan[0]
        return int(plan["Plan"]["Plan Rows"])
    except (ValueError, LookupError, TypeError):
        return None


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to ESTIMATE_ABOVE rows; beyond, uses the planner's estimate.

    The estimate costs one EXPLAIN (planning only). Above the threshold the total and the
    number of pages are approximate: the admin shows them as counted.
    """

    estimate_above = ESTIMATE_ABOVE

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if hasattr(object_list, "query") and not object_list.query.is_sliced:
            estimate = planner_row_estimate(object_list)
            if estimate is not None and estimate > self.estimate_above:
                return estimate
        return super().count
