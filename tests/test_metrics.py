"""/metrics and /healthz over real HTTP: figures from the store (two servers on one database
agree), health from the store and the heartbeats, the optional bearer token, the gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scheduler.config import ConfigError
from scheduler.web import create_app
from tests.conftest import POSTGRES_URL, postgres_store


def now() -> datetime:
    return datetime.now(UTC)


def samples(base_url: str, **headers) -> dict[tuple[str, tuple], float]:
    answer = httpx.get(f"{base_url}/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_metrics_count_what_the_store_holds_and_two_servers_agree(make_office, serve,
                                                                 database):
    if database == "postgresql":
        postgres_store().close()
    office = make_office(database="sqlite:///factpost.db" if database == "sqlite"
                         else POSTGRES_URL)
    office.add("Published on time.")
    office.add("Published on the page.", account="office-fb")
    office.dispatcher().tick(now())
    office.emulator.inject("refuse", platform="x")
    refused = office.add("Refused by the platform.")
    office.dispatcher().tick(now())
    assert office.store.history.get(refused).status == "failed"
    office.add("Still waiting.", at=now() + timedelta(days=1))
    office.store.accounts.hold("office-fb", until=now() + timedelta(minutes=10),
                               reason="rate limit")

    # Attempts count once they are SETTLE old (db/metrics.py); this server's clock is past it.
    def later():
        return now() + timedelta(minutes=1)

    first = samples(serve(office.config, office.store, clock=later))
    # Another process's view: its own store on the same database.
    from db.store import Store

    other_store = Store.open(office.config.database_url, review=office.config.review)
    try:
        second = samples(serve(office.config, other_store, clock=later))
    finally:
        other_store.close()

    x, fb = (("platform", "x"),), (("platform", "facebook"),)
    office_x = (("account", "office-x"), *x)
    assert first[("factpost_posts", (*office_x, ("state", "published")))] == 1
    assert first[("factpost_posts", (*office_x, ("state", "failed")))] == 1
    assert first[("factpost_posts", (*office_x, ("state", "queued")))] == 1
    assert first[("factpost_publishes_total", x)] == 1
    assert first[("factpost_publishes_total", fb)] == 1
    assert first[("factpost_publish_failures_total", x)] == 1
    assert ("factpost_publish_failures_total", fb) not in first
    assert first[("factpost_attempts_total", (("outcome", "permanent"), *x))] == 1
    assert first[("factpost_claim_latency_seconds_count", x)] == 1
    assert first[("factpost_claim_latency_seconds_bucket", (("le", "+Inf"), *x))] == 1
    # Due a second ago, claimed at once: under a minute late by any clock on this machine.
    assert first[("factpost_claim_latency_seconds_bucket", (("le", "60.0"), *x))] == 1
    assert first[("factpost_account_held", (("account", "office-fb"),))] == 1
    assert first[("factpost_account_held", (("account", "office-x"),))] == 0
    assert 0 < first[("factpost_account_held_seconds", (("account", "office-fb"),))] <= 600 - 60
    spent = [v for (name, _), v in first.items() if name == "factpost_spend_month_usd"]
    assert spent and spent[0] > 0  # the X post's price, from the ledger
    shared = {k: v for k, v in first.items() if k[0] != "factpost_account_held_seconds"}
    assert shared == {k: v for k, v in second.items() if k in shared}
    assert set(first) == set(second)


def test_health_follows_the_heartbeats(office, serve):
    base = serve(office.config, office.store)
    answer = httpx.get(f"{base}/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["store"]["ok"] is True and body["daemons"]["ok"] is False
    assert "factpost run" in body["daemons"]["problem"]

    office.store.workers.heartbeat("host:1", now=now() - timedelta(hours=1))
    office.store.workers.heartbeat("host:2", now=now())
    import time

    time.sleep(1.1)  # the health answer is kept for a second; this waits it out, no more
    answer = httpx.get(f"{base}/healthz")
    assert answer.status_code == 200, answer.text
    assert answer.json()["daemons"]["fresh"] == ["host:2"]
    assert [s["worker"] for s in answer.json()["daemons"]["stale"]] == ["host:1"]


def test_health_says_the_store_is_unreachable(write_config, serve):
    from db.store import Store
    from scheduler.config import load_config

    # Nothing listens on port 9 of loopback: the driver is refused at once.
    config = load_config(write_config(
        '[database]\nurl = "postgresql+psycopg://postgres@127.0.0.1:9/none"\n'))
    store = Store.open(config.database_url, review=config.review)
    try:
        answer = httpx.get(f"{serve(config, store)}/healthz")
    finally:
        store.close()
    assert answer.status_code == 503
    assert answer.json()["store"]["ok"] is False
    assert "127.0.0.1" in answer.json()["store"]["error"]


def test_a_configured_token_is_required_and_checked(make_office, serve, monkeypatch):
    monkeypatch.setenv("FACTPOST_TEST_METRICS_TOKEN", "scrape-token-5")
    office = make_office(extra='[web]\nmetrics_token_env = "FACTPOST_TEST_METRICS_TOKEN"\n')
    base = serve(office.config, office.store)
    for path in ("/metrics", "/healthz"):
        assert httpx.get(base + path).status_code == 401
        wrong = httpx.get(base + path, headers={"Authorization": "Bearer scrape-token-6"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert "scrape-token-5" not in wrong.text
    good = {"Authorization": "Bearer scrape-token-5"}
    assert httpx.get(base + "/healthz", headers=good).status_code == 503  # no daemon yet
    assert samples(base, **good)


def test_a_token_variable_that_is_not_set_stops_the_server(make_office, monkeypatch):
    monkeypatch.delenv("FACTPOST_TEST_METRICS_TOKEN", raising=False)
    office = make_office(extra='[web]\nmetrics_token_env = "FACTPOST_TEST_METRICS_TOKEN"\n')
    with pytest.raises(ConfigError, match="FACTPOST_TEST_METRICS_TOKEN, which is not set"):
        create_app(office.config, office.store)


def test_monitoring_routes_read_no_body_from_strangers(office, serve):
    base = serve(office.config, office.store)
    big = httpx.request("GET", f"{base}/metrics", content=b"x" * 2_000_000)
    assert big.status_code == 413
    small = httpx.request("GET", f"{base}/metrics", content=b"x" * 100,
                          follow_redirects=False)
    assert small.status_code == 303 and "/login" in small.headers["location"]
    assert httpx.post(f"{base}/metrics").status_code == 405


def test_the_attempt_tally_agrees_row_by_row_and_from_the_database_s_aggregates(store):
    """A tally started from SQL aggregates (a process's first scrape) and one advanced row by
    row (every later scrape) must agree, bucket for bucket, on SQLite and PostgreSQL, with
    in-flight attempts counted once they end and young ones left until they settle."""
    from db.metrics import SETTLE, AttemptTally
    from db.models import Attempt, Post

    t0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    lateness = [0, 0.5, 1, 1.0005, 2, 59.9, 60, 3599, 3600, 3601, 7200]
    with store.session() as s:
        for i, late in enumerate(lateness):
            post = Post(account="a", platform="x" if i % 2 else "y", text=f"p{i}",
                        status="published", scheduled_at=t0, created_by="t")
            s.add(post)
            s.flush()
            s.add(Attempt(post_id=post.id, worker="w", outcome="published",
                          started_at=t0 + timedelta(seconds=late)))
            s.add(Attempt(post_id=post.id, worker="w", outcome="retryable",
                          started_at=t0 - timedelta(seconds=5)))
        s.add(Attempt(post_id=post.id, worker="w", outcome=None, started_at=t0))
    seeded, stepped = AttemptTally(), AttemptTally(upto=-1)  # -1: never seeded
    at = t0 + timedelta(hours=3)
    for tally in (seeded, stepped):
        store.measures.advance(tally, now=at)
    for tally in (seeded, stepped):
        assert tally.outcomes == {("x", "published"): 5, ("y", "published"): 6,
                                  ("x", "retryable"): 5, ("y", "retryable"): 6}
        assert len(tally.open) == 1
    assert {p: (h.counts, h.count, round(h.total_seconds, 3))
            for p, h in seeded.latency.items()} == {
        p: (h.counts, h.count, round(h.total_seconds, 3)) for p, h in stepped.latency.items()}
    y = seeded.latency["y"]  # lateness 0, 1, 2, 60, 3600, 7200
    assert [n for _, n in y.buckets][:7] == [1, 2, 3, 3, 3, 3, 4] and y.count == 6

    with store.session() as s:
        s.query(Attempt).filter(Attempt.outcome.is_(None)).update({"outcome": "ambiguous"})
        young = Post(account="a", platform="x", text="young", status="published",
                     scheduled_at=at, created_by="t")
        s.add(young)
        s.flush()
        s.add(Attempt(post_id=young.id, worker="w", outcome="published", started_at=at))
    for tally in (seeded, stepped):
        store.measures.advance(tally, now=at + SETTLE / 2)
        assert tally.open == set() and tally.outcomes[("y", "ambiguous")] == 1
        assert tally.outcomes[("x", "published")] == 5  # the young attempt waits
        store.measures.advance(tally, now=at + SETTLE * 2)
        assert tally.outcomes[("x", "published")] == 6
