"""The transaction rule, in one place.

- A service entry point (what a view, a task or a command calls) opens its own transaction
  with `transaction.atomic(durable=True)`: it commits when the function returns, and calling it
  inside someone else's transaction raises RuntimeError instead of silently joining it.
- A helper meant to run inside its caller's transaction is `transaction.atomic(savepoint=False)`
  and says so in its docstring: it adds no savepoint and never commits on its own.
- Nothing calls Pomelo (or anything else over the network) inside a transaction: row locks
  would be held for as long as Pomelo takes to answer, and a rollback could not undo what
  Pomelo did. `outside_transaction()` is called before every such call to prove it.

`ATOMIC_REQUESTS` is off: a request has no transaction of its own.
"""

from django.db import transaction


def outside_transaction(*, using: str | None = None) -> None:
    """Raise RuntimeError when called inside an open transaction.

    An empty durable block does the check: Django refuses to open one inside another atomic
    block (the test case's own transaction excepted) and sends nothing to the database when it
    holds no query."""
    with transaction.atomic(using=using, durable=True):
        pass
