"""factpost benchmarks: `make bench` prints a table and writes docs/BENCHMARKS.md.

Each figure is measured on SQLite and on PostgreSQL (FACTPOST_BENCH_POSTGRES_URL, default the
local server's `factpost_bench` database, created if missing). Everything talks to 127.0.0.1.

    python benchmarks/run.py                 # everything, full sizes (about 20 minutes)
    python benchmarks/run.py --quick         # small sizes, to check the script itself
    python benchmarks/run.py --only overhead,latency --backend sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import facebook  # noqa: E402
import psycopg  # noqa: E402
import tweepy  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import statements  # noqa: E402
from benchmarks.harness import Office, office  # noqa: E402
from db.models import Post  # noqa: E402
from db.store import HistoryFilter, Store, history_key  # noqa: E402
from posts.factsheet import parse_factsheet  # noqa: E402
from posts.states import OPERATOR, Actor, PostStatus  # noqa: E402
from scheduler.config import AccountConfig  # noqa: E402
from scheduler.dispatch import Dispatcher  # noqa: E402
from scheduler.gc_pause import gc_paused  # noqa: E402
from scheduler.importing import import_file  # noqa: E402
from scheduler.planning import snippets_for  # noqa: E402
from scheduler.platforms.facebook import DEFAULT_BASE as GRAPH_BASE  # noqa: E402
from scheduler.platforms.http import api_session  # noqa: E402
from scheduler.platforms.x import DEFAULT_BASE as X_BASE  # noqa: E402

Row = tuple[str, str, str]  # (what, backend, figure)


def now() -> datetime:
    return datetime.now(UTC)


def queue_posts(store: Store, accounts: list[AccountConfig], count: int, *, at: datetime,
                label: str, step: timedelta = timedelta(0)) -> None:
    """Queue `count` posts round-robin over `accounts` in bulk (not what is measured)."""
    stamp = now()
    rows = [{"account": accounts[i % len(accounts)].name,
             "platform": accounts[i % len(accounts)].platform,
             "text": f"{label} post {i}: the task force repaired {i % 97} schools.",
             "status": PostStatus.QUEUED, "scheduled_at": at + step * i,
             "thread_position": 1, "thread_size": 1, "attempt_count": 0,
             "created_by": "bench", "created_at": stamp, "updated_at": stamp}
            for i in range(count)]
    with store.session() as s:
        for start in range(0, len(rows), 10_000):
            s.execute(insert(Post), rows[start:start + 10_000])


# -- 1. dispatch overhead ---------------------------------------------------------------------

def sender(o: Office, account: AccountConfig) -> Callable[[str], str]:
    """A function sending one post for `account` with its platform's client library (tweepy,
    facebook-sdk), returning the remote id: the bare loop's request, and the raw floor's."""
    creds = account.credentials(o.environ)
    if account.platform == "x":
        client = tweepy.Client(consumer_key=creds["consumer_key"],
                               consumer_secret=creds["consumer_secret"],
                               access_token=creds["access_token"],
                               access_token_secret=creds["access_token_secret"])
        client.session = api_session(account, X_BASE)
        return lambda t: client.create_tweet(text=t, user_auth=True).data["id"]
    graph = facebook.GraphAPI(access_token=creds["page_token"], version="3.1",
                              session=api_session(account, GRAPH_BASE))
    graph.version = account.options["graph_version"]
    return lambda t: graph.put_object(account.handle, "feed", message=t)["id"]


def timed_threads(target, argument_lists) -> float:
    """Seconds from starting one thread per argument list to the last one ending."""
    threads = [threading.Thread(target=target, args=args) for args in argument_lists]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def bare_loop(o: Office, texts: dict[str, list[str]]) -> float:
    """The same requests with the same client libraries, one thread per account, no database."""
    def send(account: AccountConfig, batch: list[str]) -> None:
        post = sender(o, account)
        for t in batch:
            post(t)

    return timed_threads(send, [(a, texts[a.name]) for a in o.config.accounts])


# The floor: what one durable transaction per post costs with nothing of factpost around it.
# The statements a publish needs at least (the claim with its attempt and audit row, the
# previous post's outcome with its audit row and the audit chain's head), through the
# database's own driver (`RawDriver`), one transaction per post, committed before the next
# request of its account. Audit rows are chained in the INSERT itself (their place and hashes
# computed before it), which is the least the chain can cost. The head is read last, as
# db/audit.py reads it at commit: on PostgreSQL locked (FOR UPDATE), since the two accounts
# write different posts but the one head row orders every transaction's audit rows, so of two
# committing at once one waits for the other's head; on SQLite the transaction holds the one
# write lock from BEGIN IMMEDIATE already. Written with ? placeholders (sqlite3's).
_RAW = {
    "outcome_attempt": "UPDATE attempts SET outcome = 'published', finished_at = ?, "
                       "remote_id = ? WHERE id = ?",
    "outcome_post": "UPDATE posts SET status = 'published', remote_id = ?, published_at = ?, "
                    "claimed_by = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND "
                    "status = 'publishing'",
    "due": "SELECT id, text FROM posts WHERE account = ? AND status = 'queued' AND "
           "scheduled_at <= ? ORDER BY scheduled_at, id LIMIT 1",
    "claim": "UPDATE posts SET status = 'publishing', claimed_by = 'raw', lease_until = ?, "
             "attempt_count = attempt_count + 1, updated_at = ? WHERE id = ? AND "
             "status = 'queued'",
    "attempt": "INSERT INTO attempts (post_id, worker, started_at) VALUES (?, 'raw', ?) "
               "RETURNING id",
    "audit": "INSERT INTO audit_log (at, actor, action, post_id, account, from_status, "
             "to_status, seq, prev_hash, row_hash) VALUES (?, 'raw', ?, ?, ?, ?, ?, ?, ?, ?)",
    "head": "SELECT seq, row_hash FROM audit_chain_head WHERE id = 1",
    "move_head": "UPDATE audit_chain_head SET seq = ?, row_hash = ? WHERE id = 1",
}


@dataclass(frozen=True)
class RawDriver:
    """What the floor needs of one database, the rest of its work being the same on both:
    `name` (the driver, as the row names it), `connect()` (a new DB-API connection with
    `execute` and `commit`, settings as factpost's engine gives them), `begin` (the statement
    that opens a write transaction; None where the driver opens one itself with the first
    statement, as psycopg does), `sql` (`_RAW`'s statements in the driver's own words),
    `serial` (held around each transaction: SQLite's one writer, queued for in the process as
    db/database.py does; nothing on PostgreSQL, whose row locks serialise what must be), and
    `stamp()` (the time now, as the driver takes a stored time)."""

    name: str
    connect: Callable[[], Any]
    begin: str | None
    sql: dict[str, str]
    serial: contextlib.AbstractContextManager
    stamp: Callable[[], object]


def raw_driver(url: str) -> RawDriver:
    """The raw driver of the database at `url` (a factpost database URL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        def connect_sqlite() -> sqlite3.Connection:
            c = sqlite3.connect(parsed.database, isolation_level=None, check_same_thread=False)
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = FULL")  # as db/engine.py: an fsync per commit
            return c

        return RawDriver("sqlite3", connect_sqlite, "BEGIN IMMEDIATE", dict(_RAW),
                         threading.Lock(),
                         lambda: now().replace(tzinfo=None).isoformat(" "))
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    sql = {key: statement.replace("?", "%s") for key, statement in _RAW.items()}
    sql["head"] += " FOR UPDATE"
    # psycopg's defaults, as factpost's engine keeps them (a statement run five times is
    # prepared on the server); synchronous_commit is the server's (on: the commit waits for
    # its WAL to be flushed).
    return RawDriver("psycopg", lambda: psycopg.connect(conninfo), None, sql,
                     contextlib.nullcontext(), lambda: now().replace(tzinfo=None))


def raw_floor(o: Office) -> float:
    """Publish every due post of the office's accounts with the raw driver and the bare
    loop's clients (one thread and one connection per account); returns the seconds taken."""
    driver = raw_driver(o.config.database_url)
    sql = driver.sql

    def publish(account: AccountConfig) -> None:
        post = sender(o, account)
        c = driver.connect()
        done = None  # (post id, attempt id, remote id) of the previous post
        while True:
            with driver.serial:
                row = transaction(c, account, done)
            if row is None:
                break
            done = (row[0], row[2], str(post(row[1])))
        c.close()

    def transaction(c, account: AccountConfig, done: tuple | None) -> tuple | None:
        """The previous post's outcome and the next claim, committed; the claimed post's id,
        text and attempt id, or None."""
        if driver.begin is not None:
            c.execute(driver.begin)
        t = driver.stamp()
        changes = []  # (action, post, from, to) of the audit rows to chain
        if done is not None:
            c.execute(sql["outcome_attempt"], (t, done[2], done[1]))
            c.execute(sql["outcome_post"], (done[2], t, t, done[0]))
            changes.append(("publish", done[0], "publishing", "published"))
        row = c.execute(sql["due"], (account.name, t)).fetchone()
        if row is not None:
            c.execute(sql["claim"], (t, t, row[0]))
            row = (*row, c.execute(sql["attempt"], (row[0], t)).fetchone()[0])
            changes.append(("claim", row[0], "queued", "publishing"))
        seq, prev = c.execute(sql["head"]).fetchone() or (0, "0" * 64)
        for action, post_id, before, after in changes:
            seq += 1
            digest = hashlib.sha256(f"{seq}|{prev}|{t}|{action}|{post_id}|{before}|{after}"
                                    .encode()).hexdigest()
            c.execute(sql["audit"], (t, action, post_id, account.name, before, after, seq,
                                     prev, digest))
            prev = digest
        c.execute(sql["move_head"], (seq, prev))
        c.commit()
        return row

    return timed_threads(publish, [(a,) for a in o.config.accounts])


#: Rounds of the 0 ms figures, the best counting (timeit's rule, as for the import): with an
#: instant API every part shares the interpreter's lock, and how the threads happen to hand it
#: over moves a single round by a fifth either way (the bare loop alone took 0.72 s or 0.87-
#: 1.08 s, minutes apart, at the same code). With latency the wait dominates: one round.
OVERHEAD_ROUNDS = 3


def overhead(backend: str, n: int, latency: float) -> list[Row]:
    with office(backend, latency=latency) as o:
        accounts = o.config.accounts
        texts = {a.name: [f"Bare loop post {i} for {a.name}." for i in range(n // 2)]
                 for a in accounts}
        bare_loop(o, {a: t[:20] for a, t in texts.items()})  # warm up connections and imports
        # Per round, (seconds, CPU seconds) of each of the three, taken in turn. CPU time of
        # the whole process (the emulator answering included) beside each wall time: at 0 ms
        # every part runs on the interpreter's one lock, so CPU per post is what the ratio
        # comes from.
        bare_rounds, ours_rounds, floor_rounds, reports = [], [], [], []
        for n_round in range(OVERHEAD_ROUNDS if latency == 0 else 1):
            bare_rounds.append(timed_cpu(lambda: bare_loop(o, texts)))
            queue_posts(o.store, accounts, n, at=now() - timedelta(seconds=1),
                        label=f"Overhead {n_round}")
            dispatcher = Dispatcher(o.store, o.config, o.publishers(), worker="bench")
            ours_rounds.append(timed_cpu(lambda d=dispatcher: reports.append(d.tick())))
            dispatcher.shutdown()
            if latency == 0:
                queue_posts(o.store, accounts, n, at=now() - timedelta(seconds=1),
                            label=f"Raw {n_round}")
                sent = o.sent()
                floor_rounds.append(timed_cpu(lambda: raw_floor(o)))
                assert o.sent() - sent == n, (o.sent() - sent, n)
        assert all(report.published == n for report in reports), reports
        (bare, bare_cpu), (ours, ours_cpu) = min(bare_rounds), min(ours_rounds)
        rounds = f"best of {len(ours_rounds)}; " if len(ours_rounds) > 1 else ""
        figure = (f"{rounds}{bare:.2f} s / {ours:.2f} s = {ours / bare:.2f}x "
                  f"({n / ours:.0f} posts/s)")
        if latency == 0:
            figure += (f"; CPU per post {bare_cpu / n * 1000:.2f} / "
                       f"{ours_cpu / n * 1000:.2f} ms")
        rows = [(f"dispatch overhead: {n} due posts, 2 accounts, API latency "
                 f"{latency * 1000:.0f} ms (bare loop / factpost)", backend, figure)]
        if latency == 0:
            floor, floor_cpu = min(floor_rounds)
            rows.append((f"dispatch floor: {n} due posts, 2 accounts, API latency 0 ms (bare "
                         f"loop / raw {raw_driver(o.config.database_url).name}, one durable "
                         "transaction per post)", backend,
                         f"{rounds}{bare:.2f} s / {floor:.2f} s = {floor / bare:.2f}x; factpost "
                         f"{ours / floor:.2f}x the floor; CPU per post "
                         f"{floor_cpu / n * 1000:.2f} ms"))
    return rows


def timed_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """(seconds, CPU seconds of the whole process) that `fn()` took."""
    cpu, started = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - started, time.process_time() - cpu


# -- 2. latency from due time to request sent -------------------------------------------------

def factpost_process(o: Office, *args: str) -> subprocess.Popen:
    env = {**o.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(o.config_path),
                             *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def latency(backend: str, queued: int, due: int) -> list[Row]:
    with office(backend, poll=5.0) as o:
        accounts = o.config.accounts
        # The queue is deep; a slice of it falls due one post every 100 ms, from a moment the
        # daemon has surely started by.
        queue_posts(o.store, accounts, queued - due, at=now() + timedelta(days=2),
                    label="Later")
        queue_posts(o.store, accounts, due, at=now() + timedelta(seconds=6),
                    step=timedelta(seconds=0.1), label="Due")
        daemon = factpost_process(o, "run")
        deadline = time.monotonic() + due * 0.1 + 60
        while o.sent() < due and time.monotonic() < deadline:
            time.sleep(0.2)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        with o.store.session() as s:
            scheduled = dict(s.execute(text(
                "SELECT text, scheduled_at FROM posts WHERE text LIKE 'Due post%'")).all())
            # An attempt starts at the time its claim read, in the claim's transaction.
            claimed = s.execute(text(
                "SELECT posts.scheduled_at, min(attempts.started_at) FROM posts JOIN attempts "
                "ON attempts.post_id = posts.id WHERE posts.text LIKE 'Due post%' "
                "GROUP BY posts.id")).all()
        claims = [(as_utc(started) - as_utc(due)).total_seconds() * 1000
                  for due, started in claimed]
        delays = []
        for tweet in (o.emulator.tweets("BenchX0") + o.emulator.page_posts("BenchFB0")):
            body = tweet.get("text") or tweet.get("message")
            received = datetime.fromisoformat(tweet["received_at"])
            delays.append((received - as_utc(scheduled[body])).total_seconds() * 1000)
    assert len(delays) == due == len(claims), f"{len(delays)} of {due} sent"
    rows = []
    for what, times in (("claimed (the claim's clock, read in its transaction)", claims),
                        ("request received", delays)):
        cuts = statistics.quantiles(times, n=100, method="inclusive")
        rows.append((f"latency due -> {what}, {due} posts falling due among {queued:,} "
                     "queued (p50 / p99 / max)", backend,
                     f"{cuts[49]:.0f} ms / {cuts[98]:.0f} ms / {max(times):.0f} ms"))
    return rows


def as_utc(value: object) -> datetime:
    """A time read with text(): a datetime on PostgreSQL, an ISO string on SQLite; UTC."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


# -- 3. concurrency: accounts with slow APIs ----------------------------------------------------

def concurrency(backend: str, sizes: list[int], per_account: int) -> list[Row]:
    rows = []
    for n in sizes:
        with office(backend, x_accounts=n - n // 2, pages=n // 2, latency=0.2) as o:
            # What one request takes through the client library alone, 200 ms of it the
            # emulator's wait: the rest (signing, HTTP, the emulator's own work) is this
            # machine's, and bounds any client's throughput below the ideal too.
            send = sender(o, o.config.accounts[0])
            send("Warm-up request.")
            started = time.perf_counter()
            for i in range(5):
                send(f"Timed request {i}.")
            bare = (time.perf_counter() - started) / 5
            o.emulator.reset()  # the daemon's posts alone are counted below
            queue_posts(o.store, o.config.accounts, n * per_account,
                        at=now() - timedelta(seconds=1), label="Concurrent")
            daemon = factpost_process(o, "run", "--until-idle")
            assert daemon.wait(timeout=600) == 0
            received = sorted(
                datetime.fromisoformat(p["received_at"])
                for a in o.config.accounts
                for p in (o.emulator.tweets(a.handle) if a.platform == "x"
                          else o.emulator.page_posts(a.handle)))
            assert len(received) == n * per_account, len(received)
        # First to last request, so the daemon's start-up is not counted.
        span = (received[-1] - received[0]).total_seconds() + 0.2
        rows.append((f"concurrency: {n} accounts x {per_account} posts, 200 ms API latency "
                     "(daemon process)", backend,
                     f"{len(received) / span:.1f} posts/s (ideal {n / 0.2:.0f}; a bare "
                     f"request takes {bare * 1000:.0f} ms here)"))
    return rows


# -- 4. store scale ---------------------------------------------------------------------------

def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, object]:
    """Median milliseconds over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def fill_history(store: Store, total: int, due: int) -> None:
    """`total` posts over 4 accounts: published history over a year, `due` queued now."""
    stamp, accounts = now(), ["x0", "x1", "fb0", "fb1"]
    words = ["schools", "clinics", "wells", "bridges", "roads", "training", "الطرق", "المدارس"]
    year = timedelta(days=365)
    with store.session() as s:
        for start in range(0, total, 20_000):
            rows = []
            for i in range(start, min(start + 20_000, total)):
                queued = i >= total - due
                when = stamp - year + year * (i / total)
                rows.append({
                    "account": accounts[i % 4], "platform": "x" if i % 4 < 2 else "facebook",
                    "text": f"Update {i}: engineers finished work on {words[i % 8]} in district "
                            f"{i % 113}. #{words[(i // 8) % 8]}",
                    "status": PostStatus.QUEUED if queued else PostStatus.PUBLISHED,
                    "scheduled_at": stamp - timedelta(seconds=1) if queued else when,
                    "published_at": None if queued else when,
                    "remote_id": None if queued else str(10**18 + i),
                    "thread_position": 1, "thread_size": 1, "attempt_count": 0 if queued else 1,
                    "created_by": "bench", "created_at": stamp, "updated_at": stamp})
            s.execute(insert(Post), rows)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE posts"))
    else:
        with store.engine.begin() as c:
            c.execute(text("ANALYZE"))


def store_scale(backend: str, total: int) -> list[Row]:
    rows = []
    with office(backend) as o:
        store = o.store
        started = time.perf_counter()
        fill_history(store, total, due=1_000)
        rows.append((f"store: fill {total:,} posts (bulk insert, setup only)", backend,
                     f"{time.perf_counter() - started:.0f} s"))
        lease = timedelta(seconds=60)
        claim_ms, _ = timed(lambda: store.queue.claim_next("x0", worker="bench", now=now(),
                                                           lease=lease), repeat=50)
        rows.append((f"store: claim the next due post among {total:,}", backend,
                     f"{claim_ms:.2f} ms"))
        first_ms, _ = timed(lambda: store.history.search(HistoryFilter(limit=50)))
        rows.append(("store: history first page (50)", backend, f"{first_ms:.1f} ms"))
        # The oldest page by keyset: the cursor of the post just before it.
        oldest = store.history.search(HistoryFilter(limit=51, offset=total - 51))
        cursor = history_key(oldest[0])
        last_ms, last = timed(lambda: store.history.search(HistoryFilter(limit=50, after=cursor)))
        assert len(last) == 50, len(last)
        rows.append(("store: history last page (50, keyset cursor)", backend,
                     f"{last_ms:.1f} ms"))
        offset_ms, _ = timed(
            lambda: store.history.search(HistoryFilter(limit=50, offset=total - 50)), repeat=3)
        rows.append(("store: history last page (50, OFFSET, for comparison)", backend,
                     f"{offset_ms:.0f} ms"))
        account_ms, _ = timed(lambda: store.history.search(HistoryFilter(account="fb1", limit=50)))
        rows.append(("store: history of one account, first page", backend,
                     f"{account_ms:.1f} ms"))
        for term in ("bridges", "district 17", "المدارس"):
            search_ms, found = timed(lambda t=term: store.history.search(
                HistoryFilter(search=t, limit=50)))
            assert found, term
            rows.append((f"store: search '{term}', first page of 50", backend,
                         f"{search_ms:.1f} ms"))
        rare_ms, _ = timed(lambda: store.history.search(HistoryFilter(search="Update 777777",
                                                               limit=50)), repeat=3)
        rows.append(("store: search a rare phrase ('Update 777777')", backend,
                     f"{rare_ms:.1f} ms"))
    return rows


#: Rounds of each import figure; the best round counts (timeit's rule: a slower round measured
#: the machine's other work, not the code).
IMPORT_ROUNDS = 3


def import_rows(backend: str, size: int) -> list[Row]:
    """A large fact sheet imported for one X account and one Page: parsing and splitting alone
    (what `factpost preview` does, the import's bare loop, with no database) beside the whole
    import, stored in one transaction; each the best of `IMPORT_ROUNDS` rounds, the two taken
    in turn in each round, each import into an empty database."""
    sheet_text = large_factsheet(size)
    bare, took = [], []
    for _ in range(IMPORT_ROUNDS):
        with office(backend) as o:
            sheet = o.folder / "large.txt"
            sheet.write_text(sheet_text, encoding="utf-8")
            mb = sheet.stat().st_size / 1_048_576
            started = time.perf_counter()
            parsed = parse_factsheet(sheet.read_text("utf-8"))
            # With the cyclic collector paused once the sheet is read, as `factpost preview`
            # and import_file pause it.
            with gc_paused():
                snippets = sum(len(s) for a in o.config.accounts
                               for _, s in snippets_for(parsed, a))
            bare.append(time.perf_counter() - started)
            del parsed
            started = time.perf_counter()
            report = import_file(sheet, store=o.store, config=o.config,
                                 accounts=o.config.accounts, actor=Actor("bench", OPERATOR),
                                 now=now(), at=now(), every=timedelta(minutes=1))
            took.append(time.perf_counter() - started)
            assert report.created == snippets, (report.created, snippets)
    return [(f"import a {mb:.1f} MB fact sheet ({report.created:,} posts): parse and split "
             f"only / whole import (best of {IMPORT_ROUNDS})", backend,
             f"{min(bare):.1f} s / {min(took):.1f} s = {min(took) / min(bare):.2f}x")]


def large_factsheet(size: int) -> str:
    sample = (ROOT / "posts" / "samples" / "factsheet.txt").read_text("utf-8")
    body = "\n".join(line for line in sample.splitlines()
                     if "twitter.com" not in line and "facebook.com" not in line)
    parts, n = ["JOINT TASK FORCE MERIDIAN: THE YEAR IN REVIEW\n"], 0
    while sum(map(len, parts)) < size:
        n += 1
        parts.append(f"\nDISTRICT {n} REPORT\n" + body.split("\n", 1)[1].replace(
            "Meridian", f"Meridian district {n}") + "\n")
    parts.append("\nFollow us: twitter.com/JTFMeridian | facebook.com/JTFMeridian\n")
    return "".join(parts)


# -- 5. daemon memory -------------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def memory(backend: str, total: int) -> list[Row]:
    with office(backend, x_accounts=4, pages=4, poll=1.0) as o:
        queue_posts(o.store, o.config.accounts, total, at=now() - timedelta(seconds=1),
                    label="Memory")
        daemon = factpost_process(o, "run", "--until-idle")
        samples: list[tuple[int, float]] = []  # (requests sent so far, RSS MB)
        started = time.perf_counter()
        while daemon.poll() is None:
            try:
                samples.append((o.sent(), rss_mb(daemon.pid)))
            except (FileNotFoundError, RuntimeError):  # it exited between poll and read
                break
            time.sleep(0.5)
        took = time.perf_counter() - started
        assert daemon.wait() == 0
        assert o.sent() >= total, o.sent()
    marks = [total // 100, total // 10, total // 2, total]
    at_marks = [next((mb for sent, mb in samples if sent >= m), samples[-1][1]) for m in marks]
    peak_sent, peak = max(samples, key=lambda sample: sample[1])
    return [(f"daemon RSS after {' / '.join(f'{m:,}' for m in marks)} publishes", backend,
             " / ".join(f"{mb:.0f} MB" for mb in at_marks)
             + f"; peak {peak:.0f} MB after {peak_sent:,}; {total / took:.0f} posts/s")]


# -- report -----------------------------------------------------------------------------------

def versions() -> str:
    names = ["SQLAlchemy", "tweepy", "facebook-sdk", "APScheduler", "psycopg"]
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1_048_576:.0f} GB RAM"
    except (OSError, ValueError):
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}){mem}"


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes, as `uptime` prints it."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return c.scalar(text("SHOW server_version"))
    finally:
        engine.dispose()


def earlier_rows(path: Path) -> list[Row]:
    """The rows of an existing report, so that a partial run (--only) updates only its own."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 3 and cells[0] not in ("measurement", "---"):
            found.append((cells[0], cells[1], cells[2]))
    return found


def write_report(rows: list[Row], path: Path, args: argparse.Namespace, took: float) -> None:
    from benchmarks.harness import POSTGRES_URL, database_url
    pg = ""
    if "postgresql" in args.backend:
        pg = f"PostgreSQL {postgres_version(database_url('postgresql', Path()))} " \
             f"({POSTGRES_URL.split('@')[-1]}), "
    import sqlite3
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run.py`); do not edit by hand. The machine is "
        "shared and noisy: read the figures as orders of magnitude and ratios, not as exact "
        "timings.",
        "",
        f"- Date: {now():%Y-%m-%d %H:%M} UTC; run took {took / 60:.1f} minutes"
        + (" (--quick sizes)" if args.quick else ""),
        f"- Machine: {machine()}; load average {args.load[0]} at the start, {args.load[1]} "
        "at the end (1, 5, 15 minutes)",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {pg}"
        f"{versions()}",
        "- Emulator: the built-in one, in the benchmark process, on 127.0.0.1; no added "
        "latency unless stated.",
        "",
        "| measurement | database | figure |",
        "| --- | --- | --- |",
    ]
    if args.only:
        fresh = {(what, backend) for what, backend, _ in rows}
        kept = [r for r in earlier_rows(path) if (r[0], r[1]) not in fresh]
        rows = kept + rows
        lines.insert(5, f"- Partial run: `--only {args.only}`; other rows are from the previous "
                        "run.")
    lines += [f"| {what} | {backend} | {figure} |" for what, backend, figure in rows]
    lines += ["", NOTES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


NOTES = """\
## What each figure is

- **Dispatch overhead**: the same N posts sent two ways through the emulator: a bare loop
  calling tweepy's `create_tweet` and facebook-sdk's `put_object` (one thread per account, no
  database), and one factpost dispatch tick (claim, attempt row, publish, outcome, audit, all
  committed). The ratio is what the database and the bookkeeping cost on top of the HTTP
  requests; the target is at most 1.2x (2x at 0 ms). At 0 ms each of the bare loop, factpost
  and the floor below runs three times, in turn, and the best of each counts (how the threads
  happen to hand the interpreter's lock over moves a single round by a fifth). At 0 ms the
  CPU time of the whole process per post (the emulator's answers included) is given too: the
  client libraries, the emulator and the bookkeeping all run on the interpreter's one lock,
  so with an instant API the ratio follows CPU per post, whatever the disk.
- **Dispatch floor** (0 ms): the same requests with the least a durable publish needs,
  through the database's own driver with nothing of factpost around it (sqlite3; psycopg on
  PostgreSQL): per post one transaction holding the previous post's outcome (attempt and post
  updated, audit row), the claim (due post read, claimed, attempt row, audit row) and the
  audit chain's head, read last (on PostgreSQL `SELECT ... FOR UPDATE`, as factpost locks it,
  so the two accounts' transactions take turns at the head), committed before the account's
  next request. On SQLite it is a `BEGIN IMMEDIATE ... COMMIT` under `synchronous = FULL`;
  on PostgreSQL each statement, BEGIN and COMMIT included, is a round trip to the server,
  whose backends share the machine's cores with the client, and the commit waits for the WAL
  flush (the server's `synchronous_commit`). Its ratio to the bare loop is what that and the
  two threads' hand-overs of the interpreter lock around it cost, which no bookkeeping can go
  under while each outcome must be durable before the next request; "factpost Nx the floor"
  is what factpost adds above that (its checks of pause, hold, budgets and review, the hourly
  count, X's spend ledger, the audit chain's hashing, SQLAlchemy's transaction around it).
- **Latency**: a running daemon, a deep queue, and posts falling due one every 100 ms. Two
  figures from a post's due time: to its claim (the time the claim's transaction read, which
  its attempt row keeps; the commit follows within one fsync), and to the emulator receiving
  the request.
- **Concurrency**: one tick over N accounts whose API answers after 200 ms; accounts publish
  in parallel, so throughput grows with accounts until the machine's cores are busy. Beside
  it, what one request takes through the client library alone on this machine (the 200 ms
  wait, plus signing, HTTP and the emulator's own work): no client, factpost or another, can
  publish one account's posts faster than one per that time.
- **Store scale**: a year of history (published posts over four accounts) plus 1,000 due posts.
  History pages are keyset-paged (the web UI and `/api/posts` page that way); the OFFSET row
  shows why. Search is the history search the CLI, the web UI and the API use.
- **Daemon memory**: RSS of a `factpost run --until-idle` process, sampled as it publishes.
- **Database work per published post**: SQL statements (BEGIN and COMMIT aside) and
  transactions committed during one tick, counted by SQLAlchemy's engine events
  (`benchmarks/statements.py`), per post, for an X account and a Facebook Page alone. Each
  write transaction is an fsync on SQLite (`synchronous = FULL`). X's pending charge for a
  create is written in the claim's transaction, and settled with the post's outcome.
  Where the account threads' time goes: `python benchmarks/profile_threads.py`.
- **Import**: a 1 MB fact sheet (2,115 sections) for one X account and one Page, each figure
  the best of three rounds (the two taken in turn), both with the cyclic garbage collector
  paused once the sheet is read, as `factpost preview` and `factpost import` pause it
  (`scheduler/gc_pause.py`). The
  bare figure parses and splits it with no database, as `factpost preview` does; the whole
  import adds planning, the store's checks and one transaction with every post, audit row
  and search-index entry, written in bulk (executemany, ids given under SQLite's write lock,
  audit rows chained as inserted, the search index filled in one statement) rather than one
  ORM flush per post.
- The load average (1, 5, 15 minutes) at the start and end of the run is in the header: a run
  on a busy machine shows there.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", help="comma-separated: overhead,latency,concurrency,store,"
                                       "memory,import,statements")
    parser.add_argument("--backend", default="sqlite,postgresql",
                        help="comma-separated: sqlite,postgresql")
    # 10,000 by default so that `make bench` ends within 20 minutes (at 50-60 posts/s the
    # memory run was 30 minutes per database at 100,000); RSS is sampled from the first.
    parser.add_argument("--publishes", type=int, default=10_000,
                        help="publishes for the daemon memory run (default 10,000; 100,000 "
                             "for a long run)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args()
    q = args.quick
    suites = {
        "overhead": lambda b: (overhead(b, 200 if q else 1_000, 0.0)
                               + overhead(b, 100 if q else 400, 0.05)
                               + overhead(b, 40 if q else 100, 0.2)),
        "latency": lambda b: latency(b, 1_000 if q else 10_000, 50 if q else 300),
        "concurrency": lambda b: concurrency(b, [1, 5, 20] if q else [1, 5, 10, 20],
                                             5 if q else 25),
        "store": lambda b: store_scale(b, 20_000 if q else 1_000_000),
        "memory": lambda b: memory(b, 2_000 if q else args.publishes),
        "import": lambda b: import_rows(b, 100_000 if q else 1_000_000),
        "statements": lambda b: statements.per_post(b, 50 if q else 200),
    }
    chosen = args.only.split(",") if args.only else list(suites)
    backends = args.backend.split(",")
    rows: list[Row] = []
    # A run on a busy machine shows here: compare the figures with the load they ran under.
    args.load = [load_average()]
    print(f"load average at start: {args.load[0]}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    for name in chosen:
        for backend in backends:
            print(f"... {name} on {backend}", file=sys.stderr, flush=True)
            suite_started = time.perf_counter()
            for row in suites[name](backend):
                rows.append(row)
                print(f"{row[0]:<88} {row[1]:<11} {row[2]}", flush=True)
            print(f"    ({name} on {backend}: {time.perf_counter() - suite_started:.0f} s)",
                  file=sys.stderr, flush=True)
    args.load.append(load_average())
    print(f"load average at end: {args.load[1]}", file=sys.stderr, flush=True)
    write_report(rows, args.out, args, time.perf_counter() - started)
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
