"""Where the daemon's account threads spend their time: one dispatch tick over N accounts whose
API answers after a set latency, each account thread under its own cProfile (wall clock),
the profiles added up. Prints the share of thread time spent waiting for the API, waiting for
the database's write lock, committing, executing statements and in Python, then the top
functions.

    python benchmarks/profile_threads.py --accounts 20 --posts 25 --latency 0.2 --backend sqlite
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import office
from benchmarks.run import queue_posts
from scheduler.dispatch import Dispatcher


def own(stats: pstats.Stats, *needles: str) -> float:
    """Seconds spent in functions whose name matches one of `needles`, not in their callees
    (so no two figures below overlap)."""
    return sum(tottime for (path, _, name), (_, _, tottime, _, _) in stats.stats.items()
               if any(n in f"{path}:{name}" for n in needles))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--posts", type=int, default=25, help="per account")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds")
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    n = args.accounts
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    with office(args.backend, x_accounts=n - n // 2, pages=n // 2,
                latency=args.latency) as o:
        queue_posts(o.store, o.config.accounts, n * args.posts,
                    at=datetime.now(UTC) - timedelta(seconds=1), label="Profiled")
        dispatcher = Dispatcher(o.store, o.config, o.publishers(), worker="bench")
        drain = dispatcher._drain

        def profiled(account, clock):
            profile = cProfile.Profile(time.perf_counter)
            with lock:
                profiles.append(profile)
            return profile.runcall(drain, account, clock)

        dispatcher._drain = profiled
        started = time.perf_counter()
        report = dispatcher.tick()
        wall = time.perf_counter() - started
        dispatcher.shutdown()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    total = stats.total_tt
    print(f"{report.published} posts, {n} accounts, {args.latency * 1000:.0f} ms API, "
          f"{args.backend}: {wall:.2f} s, {report.published / wall:.1f} posts/s "
          + (f"(ideal {n / args.latency:.0f})" if args.latency else ""))
    parts = {
        # Waiting for the API: the socket calls (the emulator answers after `latency`).
        "waiting for the API": own(stats, "'recv_into' of '_socket", "'sendall' of '_socket",
                                   "'poll' of 'select.poll'"),
        # The `with` that takes the write lock is not a call cProfile sees: the wait is the
        # session helper's own time.
        "waiting for the write lock": own(stats, "database.py:session"),
        "committing (fsync)": own(stats, "'commit' of"),
        "executing statements": own(stats, "'execute' of 'sqlite3.Cursor'"),
        "waiting for PostgreSQL": own(stats, "psycopg/connection.py:wait",
                                      "_send_query_prepared", "_execute_send", "_exec_command"),
    }
    parts["everything else (Python)"] = total - sum(parts.values())
    print(f"account-thread time {total:.1f} s: " + ", ".join(
        f"{share / total * 100:.0f}% {what}" for what, share in parts.items()))
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
