"""Where the daemon's account threads spend their time: one dispatch tick over N accounts whose
API answers after a set latency, each account thread under its own cProfile (wall clock),
the profiles added up. Prints the share of thread time spent in the platform request, waiting
for the database's write lock, and inside write transactions, then the top functions.

    python benchmarks/profile.py --accounts 20 --posts 25 --latency 0.2 --backend sqlite
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


def share(stats: pstats.Stats, total: float, *needles: str) -> float:
    """Seconds of cumulative time in functions whose name matches one of `needles` (the
    outermost call of each only: primitive calls)."""
    found = 0.0
    for (path, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        label = f"{path}:{name}"
        if any(n in label for n in needles):
            found += cumulative
    return found / total * 100


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
          f"(ideal {n / args.latency:.0f})")
    print(f"account-thread time {total:.1f} s: "
          f"{share(stats, total, ':publish'):.0f}% in the platform request (publish), "
          f"{share(stats, total, 'RLock'):.0f}% waiting for the write lock, "
          f"{share(stats, total, 'commit'):.0f}% committing, "
          f"{share(stats, total, 'sqlite3.Cursor', 'psycopg/cursor.py:execute'):.0f}% "
          "executing statements")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
