"""What one published post costs the database: SQL statements and commits, counted by
SQLAlchemy's engine events around one dispatch tick (no timing, so a loaded machine does not
change the figure).

    python benchmarks/run.py --only statements --backend sqlite,postgresql
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from benchmarks.harness import office
from db.engine import READ_ONLY
from scheduler.dispatch import Dispatcher

Row = tuple[str, str, str]


def count(engine, work) -> Counter:
    """Run `work()` and count, on `engine`: statements (BEGIN and COMMIT aside), write
    transactions committed (each an fsync on SQLite, whose `synchronous` is FULL) and read
    transactions."""
    counts: Counter = Counter()

    def on_execute(conn, _cursor, statement, _params, _context, _many) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            counts["statements"] += 1
            counts[statement.lstrip().split(None, 1)[0].upper()] += 1

    def on_commit(conn) -> None:
        counts["reads" if conn.get_execution_options().get(READ_ONLY) else "writes"] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
    return counts


def per_post(backend: str, n: int) -> list[Row]:
    """Statements and commits per published post, for an X account and a Facebook Page
    alone (X's spend ledger writes a row around each create)."""
    from benchmarks.run import queue_posts

    rows = []
    for x_accounts, pages, label in ((1, 0, "X"), (0, 1, "Facebook")):
        with office(backend, x_accounts=x_accounts, pages=pages) as o:
            queue_posts(o.store, o.config.accounts, n,
                        at=datetime.now(UTC) - timedelta(seconds=1), label="Counted")
            dispatcher = Dispatcher(o.store, o.config, o.publishers(), worker="bench")
            reports: list = []
            counts = count(o.store.engine,
                           lambda d=dispatcher, r=reports: r.append(d.tick()))
            dispatcher.shutdown()
            assert reports[0].published == n, reports[0]
        kinds = ", ".join(f"{k} {counts[k] / n:.1f}" for k in
                          ("SELECT", "UPDATE", "INSERT", "DELETE") if counts[k])
        rows.append((f"database work per published post, {label} ({n} posts, one tick)",
                     backend, f"{counts['statements'] / n:.1f} statements ({kinds}); "
                              f"{counts['writes'] / n:.2f} write + {counts['reads'] / n:.2f} "
                              "read transactions"))
    return rows
