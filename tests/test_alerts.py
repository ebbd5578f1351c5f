"""Alerts end to end: a post refused by the emulator, an account whose credentials are rejected,
a daemon gone silent, a spend cap, a Graph version retiring; delivered to a real SMTP server and
a webhook receiver on loopback, once each, in digests when asked, retried after a failure."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from db.alerts import ACCOUNT_PAUSED, HEARTBEAT_LOST, POST_FAILED, SPEND_CAP, VERSION_RETIRING
from posts.states import PostStatus
from scheduler.alerts.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from scheduler.alerts.deliver import Deliverer
from scheduler.config import ConfigError, load_config
from tests.alert_servers import PASSWORD, SmtpServer, WebhookReceiver, self_signed
from tests.conftest import OFFICE_CONFIG, POSTGRES_URL, postgres_store

S = PostStatus
SECRET = "hook signing key 42"

ALERTS = """
[alerts]
retry_base_seconds = 60
retry_max_seconds = 120
heartbeat_stale_seconds = 300
[alerts.email.duty]
host = "127.0.0.1"
port = {smtp_port}
security = "{security}"
username = "factpost"
password_env = "FACTPOST_TEST_SMTP_PASSWORD"
from = "factpost@office.test"
to = ["duty@office.test", "deputy@office.test"]
{ca_line}
[alerts.webhook.ops]
url = "{hook_url}"
secret_env = "FACTPOST_TEST_HOOK_SECRET"
[alerts.events.post_failed]
send_to = ["duty", "ops"]
digest_minutes = {digest}
[alerts.events.account_paused]
send_to = ["duty", "ops"]
[alerts.events.heartbeat_lost]
send_to = ["ops"]
[alerts.events.spend_cap]
send_to = ["ops"]
[alerts.events.version_retiring]
send_to = ["ops"]
"""


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def alerting_office(make_office, emulator, smtp, hook, monkeypatch):
    monkeypatch.setenv("FACTPOST_TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("FACTPOST_TEST_HOOK_SECRET", SECRET)

    def make(*, digest: int = 0, database: str = "sqlite:///factpost.db", security="none",
             smtp_port: int | None = None, ca_line: str = "", extra: str = "",
             graph_version: str = "v25.0"):
        alerts = extra + ALERTS.format(smtp_port=smtp_port or smtp.port, hook_url=hook.url,
                                       digest=digest, security=security, ca_line=ca_line)
        text = OFFICE_CONFIG.replace('handle = "OfficeFB"',
                                     f'handle = "OfficeFB"\ngraph_version = "{graph_version}"')
        return make_office(config_text=text.format(
            url=emulator.url, database=database, max_attempts=5, poll=0.2, lease=120,
            timeout=5.0, budget=1000, extra=alerts))

    return make


def deliverer(office, clock=now, worker="test-alerts") -> Deliverer:
    return Deliverer(office.store, office.config, worker=worker, clock=clock)


def signed_alerts(hook) -> list[dict]:
    """Every alert the receiver got, each request's signature checked as a receiver would."""
    for headers, body in hook.requests:
        assert verify(SECRET.encode(), headers[TIMESTAMP_HEADER.lower()],
                      headers[SIGNATURE_HEADER.lower()], body, now=time.time())
    return hook.alerts()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_refused_post_is_mailed_and_posted_to_the_webhook_once(alerting_office, smtp, hook,
                                                                database):
    if database == "postgresql":
        postgres_store().close()  # an empty database, or a skip with the reason
    office = alerting_office(database="sqlite:///factpost.db" if database == "sqlite"
                             else POSTGRES_URL)
    office.emulator.inject("refuse", platform="x")
    post_id = office.add("Refused by the platform, reported to the duty officer.")
    office.dispatcher().tick(now())
    assert office.store.history.get(post_id).status == S.FAILED

    report = deliverer(office).run_once()
    assert (report.routed, report.sent, report.failed) == (1, 2, 0)
    [(recipients, mail)] = smtp.messages
    assert recipients == ["duty@office.test", "deputy@office.test"]
    assert mail["Subject"] == f"[factpost] post {post_id} to office-x failed"
    assert "Refused by the platform" in mail.get_payload()
    [alert] = signed_alerts(hook)
    assert (alert["kind"], alert["post_id"], alert["account"]) == (POST_FAILED, post_id,
                                                                   "office-x")
    assert mail["X-Factpost-Alerts"] == str(alert["id"])

    again = deliverer(office, worker="another-daemon").run_once()
    assert (again.routed, again.sent) == (0, 0)
    assert len(smtp.messages) == 1 and len(hook.requests) == 1
    [(_, deliveries)] = office.store.alerts.events()
    assert sorted((d.channel, d.state) for d in deliveries) == [("duty", "sent"),
                                                                ("ops", "sent")]


def test_rejected_credentials_alert_that_the_account_is_paused(alerting_office, smtp, hook,
                                                               monkeypatch):
    office = alerting_office()
    monkeypatch.setenv("FACTPOST_OFFICE_X_ACCESS_TOKEN", "revoked")
    office.add("Needs good tokens.")
    office.dispatcher().tick(now())
    assert office.store.accounts.state("office-x").paused
    deliverer(office).run_once()
    [alert] = signed_alerts(hook)
    assert alert["kind"] == ACCOUNT_PAUSED and alert["account"] == "office-x"
    assert "credentials" in alert["detail"]
    [(_, mail)] = smtp.messages
    assert "account office-x paused" in mail["Subject"]


def test_a_bad_night_sends_one_digest_not_one_message_per_failure(alerting_office, smtp,
                                                                  hook):
    office = alerting_office(digest=30)
    office.emulator.inject("refuse", platform="x", count=12)
    ids = [office.add(f"Refused post number {i}.", at=now() - timedelta(seconds=1))
           for i in range(12)]
    office.dispatcher().tick(now())
    assert {office.store.history.get(i).status for i in ids} == {S.FAILED}

    start = now()
    first = deliverer(office, clock=lambda: start).run_once()
    assert (first.routed, first.sent) == (12, 0)  # the batch waits for the rest of the night
    assert smtp.messages == [] and hook.requests == []
    later = deliverer(office, clock=lambda: start + timedelta(minutes=31)).run_once()
    assert later.sent == 24
    [(_, mail)] = smtp.messages
    assert mail["Subject"] == "[factpost] 12 alerts: 12 post failed"
    assert all(f"post {i} to office-x failed" in mail.get_payload() for i in ids)
    [(_, body)] = hook.requests
    assert sorted(a["post_id"] for a in json.loads(body)["alerts"]) == sorted(ids)


def test_a_failed_delivery_is_tried_again_after_a_backoff_and_recorded_once(alerting_office,
                                                                            smtp, hook):
    office = alerting_office()
    hook.statuses = [503]
    office.emulator.inject("refuse", platform="x")
    office.add("Refused while the receiver is down.")
    office.dispatcher().tick(now())
    start = now()
    first = deliverer(office, clock=lambda: start).run_once()
    assert (first.sent, first.failed) == (1, 1)  # the mail went; the webhook answered 503
    [(_, deliveries)] = office.store.alerts.events()
    ops = next(d for d in deliveries if d.channel == "ops")
    assert ops.state == "pending" and ops.tries == 1 and "503" in ops.last_error

    soon = deliverer(office, clock=lambda: start + timedelta(seconds=20)).run_once()
    assert soon.sent == soon.failed == 0  # 30-60 s of backoff have not passed
    retried = deliverer(office, clock=lambda: start + timedelta(seconds=61)).run_once()
    assert retried.sent == 1
    assert len(hook.requests) == 2 and len({a["id"] for a in signed_alerts(hook)}) == 1
    assert len(smtp.messages) == 1


def test_two_deliverers_on_postgresql_send_each_alert_once(alerting_office, smtp, hook):
    postgres_store().close()
    office = alerting_office(database=POSTGRES_URL)
    office.emulator.inject("refuse", platform="x", count=8)
    for i in range(8):
        office.add(f"Refused post {i}.")
    office.dispatcher().tick(now())
    barrier = threading.Barrier(2)
    reports = []

    def run(worker: str) -> None:
        one = deliverer(office, worker=worker)
        barrier.wait()
        reports.append(one.run_once())

    threads = [threading.Thread(target=run, args=(f"daemon-{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in reports) == 16
    assert sorted(a["id"] for a in signed_alerts(hook)) == sorted(
        e.id for e, _ in office.store.alerts.events())
    mailed = [n for _, m in smtp.messages for n in m["X-Factpost-Alerts"].split(",")]
    assert len(mailed) == len(set(mailed)) == 8


def test_what_no_transaction_records_is_observed_once(alerting_office, hook):
    office = alerting_office(extra='[x]\nmonthly_spend_usd = 1\n', graph_version="v21.0")
    moment = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # v21.0 retires 2027-01-21
    office.store.workers.heartbeat("host:123", now=moment - timedelta(minutes=10))
    office.store.workers.heartbeat("host:456", now=moment - timedelta(seconds=30))
    office.store.workers.heartbeat("host:789", now=moment - timedelta(hours=2), stopping=True)
    app = office.store.spend.app_of("office-x") or "app-under-test"
    office.store.spend.record(account="office-x", app=app, operation="create_post",
                              unit_micros=1_000_000, at=moment, purpose="publish",
                              post_id=None)

    first = deliverer(office, clock=lambda: moment).run_once()
    kinds = sorted(a["kind"] for a in signed_alerts(hook))
    assert kinds == sorted([HEARTBEAT_LOST, SPEND_CAP, VERSION_RETIRING])
    assert first.observed == 3
    assert any("host:123" in a["subject"] for a in hook.alerts())
    again = deliverer(office, clock=lambda: moment + timedelta(minutes=1)).run_once()
    assert again.observed == 0 and len(hook.requests) == 1


def test_mail_goes_over_starttls_to_a_server_that_requires_it(alerting_office, hook, tmp_path):
    cert, key = self_signed(tmp_path)
    with SmtpServer(cert=cert, key=key) as tls_server:
        office = alerting_office(security="starttls", smtp_port=tls_server.port,
                                 ca_line=f'ca_file = "{cert}"')
        office.emulator.inject("refuse", platform="x")
        post_id = office.add("Sent over an encrypted connection.")
        office.dispatcher().tick(now())
        assert deliverer(office).run_once().failed == 0
        [(_, mail)] = tls_server.messages
        assert str(post_id) in mail["Subject"]


def test_a_channel_whose_secret_is_not_in_the_environment_stops_the_start(
        alerting_office, monkeypatch):
    office = alerting_office()
    monkeypatch.delenv("FACTPOST_TEST_HOOK_SECRET")
    with pytest.raises(ConfigError, match="FACTPOST_TEST_HOOK_SECRET, which is not set"):
        deliverer(office)


@pytest.mark.parametrize(("table", "message"), [
    ('[alerts.email.duty]\nhost = "smtp.office.gov"\nsecurity = "none"\nfrom = "a@b.c"\n'
     'to = ["d@e.f"]\n', 'in clear text'),
    ('[alerts.email.duty]\nhost = "smtp.office.gov"\nfrom = "a@b.c"\nto = ["d@e.f"]\n'
     'username = "u"\npassword = "hunter2"\n', "does not belong in the config file"),
    ('[alerts.webhook.ops]\nurl = "http://ops.office.gov/hook"\nsecret_env = "K"\n',
     "clear text"),
    ('[alerts.webhook.ops]\nurl = "https://ops.office.gov/hook"\n', "secret_env: missing"),
    ('[alerts.events.post_failed]\nsend_to = ["nobody"]\n', "no channel named 'nobody'"),
    ('[alerts.events.post_exploded]\nsend_to = []\n', "unknown event 'post_exploded'"),
])
def test_bad_alert_settings_are_refused_with_the_key_and_the_fix(write_config, table,
                                                                 message):
    path = write_config(table)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert "hunter2" not in str(caught.value)


def test_the_readme_s_alerts_example_is_a_config_factpost_accepts(write_config):
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Alerts\n", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(write_config(example))
    assert set(config.alerts.routes) == {POST_FAILED, "post_needs_review", ACCOUNT_PAUSED,
                                         SPEND_CAP, HEARTBEAT_LOST, VERSION_RETIRING}
    assert config.alerts.routes[POST_FAILED].digest_seconds == 1800


def test_run_once_publishes_then_delivers_and_alerts_list_shows_it(alerting_office, smtp,
                                                                    hook):
    from click.testing import CliRunner

    from scheduler.cli import cli

    office = alerting_office()
    office.emulator.inject("refuse", platform="x")
    post_id = office.add("Refused, then mailed by the same command.")
    config = ["--config", str(office.config_path)]
    result = CliRunner().invoke(cli, [*config, "run", "--once"], catch_exceptions=False)
    assert "failed 1" in result.output
    [(_, mail)] = smtp.messages
    assert f"post {post_id} to office-x failed" in mail["Subject"]
    listed = CliRunner().invoke(cli, [*config, "alerts", "list", "--json"])
    [row] = json.loads(listed.output)
    assert (row["kind"], row["post_id"]) == (POST_FAILED, post_id)
    assert sorted((d["channel"], d["state"]) for d in row["deliveries"]) == [
        ("duty", "sent"), ("ops", "sent")]
    again = CliRunner().invoke(cli, [*config, "alerts", "send"])
    assert again.exit_code == 0 and "sent 0" in again.output


def test_the_daemon_s_alert_loop_delivers_while_it_runs(alerting_office, smtp):
    from scheduler.alerts.deliver import start_alerts

    office = alerting_office()
    office.emulator.inject("refuse", platform="x")
    post_id = office.add("Refused while the loop runs.")
    loop = start_alerts(office.store, office.config, worker="loop-under-test")
    try:
        office.dispatcher().tick(now())
        with smtp.mailbox.arrived:
            # The loop looks every 10 s; a generous wait for the event, then the assertion.
            smtp.mailbox.arrived.wait_for(lambda: smtp.messages, timeout=60)
    finally:
        loop.stop()
    [(_, mail)] = smtp.messages
    assert f"post {post_id}" in mail["Subject"]


def test_events_from_before_alerts_were_delivered_are_not_sent_as_news(alerting_office,
                                                                       smtp, hook):
    office = alerting_office()
    office.emulator.inject("refuse", platform="x")
    office.add("Failed long before anyone configured alerts.")
    office.dispatcher().tick(now())
    report = deliverer(office, clock=lambda: now() + timedelta(days=2)).run_once()
    assert (report.routed, report.sent) == (1, 0)
    assert smtp.messages == [] and hook.requests == []


def test_a_claimed_delivery_waits_for_its_lease_and_is_recorded_by_one_deliverer(
        alerting_office, smtp, hook):
    from scheduler.alerts.deliver import LEASE

    office = alerting_office()
    office.emulator.inject("refuse", platform="x")
    office.add("Claimed by a deliverer that then hangs.")
    office.dispatcher().tick(now())
    start = now()
    office.store.alerts.route(office.config.alerts.routes, now=start)
    [held] = office.store.alerts.claim("ops", worker="hung", now=start, lease=LEASE)

    during = deliverer(office, clock=lambda: start + LEASE - timedelta(seconds=1)).run_once()
    assert during.sent == 1 and hook.requests == []  # the mail only; the hook is leased
    after = deliverer(office, clock=lambda: start + LEASE + timedelta(seconds=1)).run_once()
    assert after.sent == 1 and len(hook.requests) == 1
    # The hung deliverer wakes up and sends too: the store keeps the one record it has.
    assert office.store.alerts.sent([held.delivery_id], worker="hung", now=now()) == 0
    [(_, deliveries)] = office.store.alerts.events()
    assert [d.tries for d in deliveries if d.channel == "ops"] == [2]


def test_a_late_failure_report_does_not_undo_another_deliverer_s_claim(alerting_office):
    from scheduler.alerts.deliver import LEASE

    office = alerting_office()
    office.emulator.inject("refuse", platform="x")
    office.add("Claimed twice, one after the other's lease ran out.")
    office.dispatcher().tick(now())
    start = now()
    office.store.alerts.route(office.config.alerts.routes, now=start)
    [first] = office.store.alerts.claim("ops", worker="slow", now=start, lease=LEASE)
    later = start + LEASE + timedelta(seconds=1)
    [second] = office.store.alerts.claim("ops", worker="fresh", now=later, lease=LEASE)
    assert second.delivery_id == first.delivery_id
    office.store.alerts.failed([first.delivery_id], worker="slow", error="timed out",
                               retry_at=later)
    assert office.store.alerts.claim("ops", worker="third", now=later, lease=LEASE) == []
    assert office.store.alerts.sent([second.delivery_id], worker="fresh", now=later) == 1


def test_rows_written_in_bulk_raise_their_alerts_as_one_row_does(alerting_office):
    # The daemon's Core moves write their audit rows through write_many (db/transitions.py):
    # a post failed there must leave its alert as one failed through the ORM does.
    from db import audit

    office = alerting_office()
    post_id = office.add("Failed on the hot path.")
    with office.store.db.session() as s:
        audit.write_many(s, [audit.AuditRow(at=now(), actor="daemon", action="fail",
                                            post_id=post_id, account="office-x",
                                            from_status=S.PUBLISHING, to_status=S.FAILED,
                                            reason="refused")])
    [(event, _)] = office.store.alerts.events()
    assert (event.kind, event.post_id, event.account) == (POST_FAILED, post_id, "office-x")
