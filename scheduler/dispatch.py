"""The dispatch tick: claim due posts, publish them, and record what happened.

The database decides *what* is due; whoever calls `tick` (the APScheduler daemon, a test with an
explicit `now`) decides *when*. Accounts publish concurrently, each from its own thread, so a slow
or throttled account never delays another; within one account posts go out one at a time, in
order, which keeps thread parts in sequence.

What each outcome leads to:

    published            -> published
    RateLimited          -> queued again at the platform's reset time; the account is held
    Retryable            -> queued again after a backoff; failed once attempts are used up
    Ambiguous            -> queued again after a backoff; the timeline is read before resending
    DuplicateContent     -> the timeline is read now: found = published, else needs_review
    CredentialsRejected  -> queued again; the account is paused until staff resume it
    Permanent            -> failed (later parts of its thread fail with it)

What is due is the store's to say (db/queue.py, the one definition the daemon and `run
--dry-run` share): overdue posts keep their spacing, so when the daemon finds an account's posts
overdue (it was stopped, the account was paused, or they were queued in the past with
`--allow-past`), it publishes the first at once and each following one no sooner after its
predecessor than they were planned apart.

Spend: every request to a platform that bills per request (X) is written to the spend ledger
(scheduler/spend.py) with its price. With a monthly cap (`monthly_spend_usd` in the platform's
table, `[x]`), a thread is admitted whole or waits whole: its first part is sent only if the
whole thread (and its pair partner's) fits under the cap of each billing app concerned; later
parts always follow, even once the cap is crossed, so a thread is never cut off by the cap. A
post that must wait is put back in the queue with the reason, and is passed over until the
month ends (or the daemon restarts with a higher cap).

Account settings a platform checks (a Graph API version past its retirement date) keep the
daemon from starting, and hold an account whose setting lapses while it runs.

English/Arabic pairs go both or neither. The post with the lower id leads: the store lets it be
claimed only when its partner is due too and the partner's account is neither paused nor held,
and lets the partner be claimed only once the leader is published. If the leader fails for good,
the partner is failed unsent. If the partner fails for good after the leader went out, it goes
to needs_review saying so. True atomicity across two platforms is impossible: neither offers a
transaction or a way to publish on a condition, and a published post cannot be recalled
without being seen, so the order above narrows the gap to the partner's own failure, which a
person then settles.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError

from db.models import Post
from db.queue import Claim, held_message
from db.spend import settle_in
from db.store import UNSURE_OUTCOMES, AttemptResult, Store
from posts.states import DAEMON, Actor, PostStatus
from scheduler.budgets import posting_budgets
from scheduler.config import AccountConfig, Config, ConfigError
from scheduler.platforms import registry
from scheduler.platforms.base import (
    CredentialsRejected,
    DuplicateContent,
    Permanent,
    Publisher,
    PublishError,
    RateLimited,
    Retryable,
)
from scheduler.reconcile import TimelineIncomplete, find_on_timeline
from scheduler.retry import RetryPolicy
from scheduler.spend import MonthlyCap, Settlement, SpendLedger

log = logging.getLogger(__name__)


#: How many of an account's unsettled posts a timeline check compares a post whose links X
#: did not resolve against (a few milliseconds each); past that it is taken for no one's.
MAX_RIVALS = 2000


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class TickReport:
    published: int = 0
    retried: int = 0
    failed: int = 0
    needs_review: int = 0
    by_account: dict[str, int] = field(default_factory=dict)

    def add(self, other: TickReport) -> None:
        self.published += other.published
        self.retried += other.retried
        self.failed += other.failed
        self.needs_review += other.needs_review
        for name, n in other.by_account.items():
            self.by_account[name] = self.by_account.get(name, 0) + n


class Dispatcher:
    def __init__(self, store: Store, config: Config, publishers: Mapping[str, Publisher], *,
                 worker: str, retry: RetryPolicy | None = None,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 spend: SpendLedger | None = None) -> None:
        """Raises ConfigError when an account's platform refuses its settings (a Graph API
        version Meta has retired)."""
        self.store = store
        self.config = config
        self.publishers = dict(publishers)
        self.worker = worker
        self.retry = retry or RetryPolicy(max_attempts=config.max_attempts,
                                          base_seconds=config.retry_base_seconds,
                                          max_seconds=config.retry_max_seconds)
        self.clock = clock
        self.lease = timedelta(seconds=config.lease_seconds)
        self.stopping = threading.Event()
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.spend = spend or SpendLedger(store, config, clock=clock)
        #: The billing app of each account of a billing platform: X bills, limits and caps per
        #: app.
        self.apps = self.spend.attach(self.publishers)
        self.cap = MonthlyCap(store, self.spend, self.apps, config)
        self._settings_logged: dict[str, object] = {}
        self._check_settings(clock())
        # Posts queued while review was off would be passed over by every claim, unseen.
        held = store.queue.hold_unreviewed(actor=Actor(worker, DAEMON), now=clock())
        if held:
            log.warning("%s", held_message(len(held)))
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(len(self.publishers), 32)),
                                        thread_name_prefix="account")

    @property
    def accounts(self) -> list[AccountConfig]:
        return [a for a in self.config.accounts if a.name in self.publishers]

    def tick(self, now: datetime | None = None) -> TickReport:
        """Publish everything that is due; returns what happened. With `now`, time stands
        still at `now` for the whole tick (tests); otherwise the clock is read as it goes."""
        clock = (lambda: now) if now is not None else self.clock
        report = TickReport()
        futures = [self._pool.submit(self._drain, account, clock)
                   for account in self.accounts if self._may_publish(account.name, clock())]
        failures = []
        for future in futures:
            try:
                report.add(future.result())
            except DBAPIError as exc:
                failures.append(exc)
        if failures:
            # The database itself is failing (a full disk, a lost server): the caller decides
            # how long to wait, and says so once.
            raise failures[0]
        return report

    def next_wakeup(self, now: datetime) -> datetime | None:
        """When a tick next has work: the soonest due post of an account that may publish
        (db/queue.py says what is due). Posts waiting on a monthly spend cap are not work
        until the month ends."""
        states = self.store.accounts.states()
        times = []
        for account in self.accounts:
            state = states.get(account.name)
            if state is not None and state.paused:
                continue
            due = self.store.queue.next_due_at(account.name, now=now,
                                               exclude=self.cap.waiting(account.name, now))
            if due is None:
                continue
            if state is not None and state.held_until is not None:
                due = max(due, state.held_until)
            times.append(due)
        return min(times) if times else None

    def shutdown(self) -> None:
        self.stopping.set()
        self._pool.shutdown(wait=True)
        self.store.queue.release_claims(self.worker, now=self.clock())

    # -- one account --------------------------------------------------------------------------

    def _may_publish(self, name: str, now: datetime) -> bool:
        state = self.store.accounts.state(name)
        if state.paused:
            return False
        if state.held_until is not None and state.held_until > now:
            return False
        return self._settings_usable(name, now)

    def _drain(self, account: AccountConfig, clock: Callable[[], datetime]) -> TickReport:
        # One connection for the account's transactions this tick, not a checkout a post.
        with self.store.holding():
            return self._drain_held(account, clock)

    def _drain_held(self, account: AccountConfig, clock: Callable[[], datetime]
                    ) -> TickReport:
        report = TickReport()
        budgets = posting_budgets(account, self.apps, self.config)
        # Leases expire rarely (a daemon died); once none is found, stop asking this tick.
        look_for_expired = True
        # The last post's outcome, not yet committed: it commits with the account's next claim
        # (one write transaction per post), always before the next request goes out.
        outcome = None
        # A billed create's pending charge is written with the claim, in its transaction.
        prepay = (None if account.name not in self.spend.meters else
                  lambda s, post: self.spend.prepay(s, post, account=account.name, at=clock()))
        try:
            while not self.stopping.is_set():
                now = clock()
                if not self._settings_usable(account.name, now):
                    break
                reclaimed = None
                if look_for_expired:
                    reclaimed = self.store.queue.reclaim_expired(account.name, worker=self.worker,
                                                                 now=now, lease=self.lease)
                    look_for_expired = reclaimed is not None
                # A post taken over from a dead daemon was admitted under the cap by it
                # already; a claim admits (and reserves) under the cap in its transaction.
                waiting = self.cap.waiting(account.name, now)
                if reclaimed is not None:
                    claim = Claim(reclaimed, reply_to=self.store.history.parent_remote_id(
                        reclaimed))
                else:
                    claim = self.store.queue.claim(
                        account.name, worker=self.worker, now=now, lease=self.lease,
                        exclude=waiting, cap=self.cap.rules, budgets=budgets, settle=outcome,
                        prepay=prepay)
                    outcome = None
                if claim is None:
                    if self.cap.waiting(account.name, now) != waiting:
                        continue  # a unit was found to wait for the cap: look past it
                    break
                outcome = self._handle(account, claim, clock, report,
                                       reclaimed=reclaimed is not None)
        except DBAPIError:
            raise
        except Exception:
            # A bug or a database outage must not kill the daemon; the post keeps its lease and
            # is settled through the timeline once the lease expires.
            log.exception("dispatch for account %s stopped", account.name)
        finally:
            if outcome is not None:
                self._commit(account, outcome)
        return report

    def _commit(self, account: AccountConfig, outcome) -> None:
        """Commit the last post's outcome alone (no claim follows it this tick)."""
        try:
            self.store.outcomes.commit(outcome)
        except DBAPIError:
            raise
        except Exception:
            log.exception("recording the last outcome for account %s failed; the post is "
                          "settled through the timeline once its lease expires", account.name)

    # -- account settings a platform checks -----------------------------------------------

    def _check_settings(self, now: datetime) -> None:
        refused = []
        for account in self.accounts:
            check = account.spec.check_settings(account, now.date())
            if check is None or check.message is None:
                continue
            if check.refuse:
                refused.append(f"account {account.name!r}: {check.message}")
            else:
                log.warning("account %s: %s", account.name, check.message)
        if refused:
            raise ConfigError("; ".join(refused))

    def _settings_usable(self, name: str, now: datetime) -> bool:
        """False (and the account held, saying why) once its platform refuses its settings
        while the daemon runs (a Graph API version retired)."""
        account = next((a for a in self.accounts if a.name == name), None)
        check = account.spec.check_settings(account, now.date()) if account else None
        if check is None or not check.refuse:
            return True
        self.store.accounts.hold(name, until=now + timedelta(hours=1), reason=check.message)
        if self._settings_logged.get(name) != now.date():
            self._settings_logged[name] = now.date()
            log.error("account %s: %s", name, check.message)
        return False

    def _handle(self, account: AccountConfig, claim: Claim, clock, report: TickReport, *,
                reclaimed: bool = False):
        """Send the claimed post and record what happened. Returns the outcome of a publish,
        for the caller to commit with the account's next claim; other outcomes are committed
        here."""
        post, attempt, reply_to = claim.post, claim.attempt, claim.reply_to
        publisher = self.publishers[account.name]
        outcome = None
        if attempt is None:
            # A post taken over from a dead daemon after any send may be live, whatever its
            # last recorded outcome says; so may one whose last outcome was unclear (the claim
            # started no attempt for it).
            unsure = post.attempt_count > 0 and (
                reclaimed or self.store.outcomes.last_outcome(post.id) in UNSURE_OUTCOMES)
            if unsure and not reclaimed and not account.spec.timeline:
                # No timeline to look at (Telegram): a staff retry since the last attempt is
                # their word that the post is not there. Elsewhere it is looked for all the same.
                unsure = not self.store.outcomes.cleared_by_staff(post.id)
            if unsure and self._settle_from_timeline(post, publisher, reply_to, clock, report):
                return None
        media = self.store.media.for_post(post)
        if attempt is None:
            attempt = self.store.outcomes.start_attempt(post.id, worker=self.worker, now=clock())
        # The ledger's answers to creates are written with the outcome (scheduler/spend.py).
        settlements: list[Settlement] = []
        try:
            with self.spend.charging(purpose="publish", post_id=post.id, clock=clock,
                                     settlements=settlements, prepaid=claim.prepaid):
                published = publisher.publish(post.text, reply_to=reply_to, media=media,
                                              key=f"factpost-post-{post.id}")
        except PublishError as err:
            self._settle_charges(settlements)
            self._record_failure(account, post, attempt, err, publisher, reply_to, clock,
                                 report)
        except Exception as err:  # a library bug after sending: treat the outcome as unknown
            self._settle_charges(settlements)
            log.exception("unexpected error publishing post %s", post.id)
            result = AttemptResult(attempt, "ambiguous", error_message=type(err).__name__,
                                   explanation="unexpected error; the timeline will be "
                                               "checked before trying again")
            self._requeue_after_backoff(post, "unexpected error while publishing", clock(),
                                        report, result)
        else:
            record = self.store.outcomes.publishing(
                post, worker=self.worker, now=clock(), remote_id=published.remote_id,
                remote_url=published.remote_url,
                attempt=AttemptResult(attempt, "published", remote_id=published.remote_id))

            def outcome(s, record=record, settlements=tuple(settlements)) -> None:
                record(s)
                for settled in settlements:
                    settle_in(s, settled.charge_id, charged=settled.charged,
                              remote_id=settled.remote_id)

            report.published += 1
            report.by_account[account.name] = report.by_account.get(account.name, 0) + 1
            log.info("published post %s to %s as %s", post.id, account.name,
                     published.remote_id)
        self._pace(account, publisher, clock())
        return outcome

    def _settle_charges(self, settlements: list[Settlement]) -> None:
        """Write the ledger's answers to creates now (no publish outcome to carry them)."""
        for settled in settlements:
            self.spend.store.settle(settled.charge_id, charged=settled.charged,
                                    remote_id=settled.remote_id)

    def _record_failure(self, account, post, attempt, err: PublishError, publisher, reply_to,
                        clock, report: TickReport) -> None:
        now = clock()
        result = AttemptResult(attempt, err.outcome, error_code=err.code,
                               error_message=err.message, explanation=err.explanation)
        log.warning("post %s to %s: %s (%s %s)", post.id, account.name, err.explanation,
                    err.code, err.message)
        if isinstance(err, RateLimited):
            if err.reset_at is None:
                # No reset given: X's and Graph's windows are 15 minutes
                # (https://docs.x.com/x-api/fundamentals/rate-limits).
                until = now + timedelta(minutes=15)
            elif err.reset_at > now:
                until = err.reset_at
            else:
                # X's reset is whole epoch seconds, so it can pass while the answer is handled:
                # the window has reopened, and waiting 15 minutes would stall the account.
                with self._rng_lock:
                    until = now + self.retry.delay(post.attempt_count + 1, self._rng)
            self.store.accounts.hold(account.name, until=until, reason=err.explanation)
            self.store.outcomes.requeue(post.id, worker=self.worker,
                                        at=max(post.scheduled_at, until),
                                        reason=err.explanation, now=now, attempt=result)
            report.retried += 1
        elif isinstance(err, CredentialsRejected):
            self.store.accounts.pause(account.name, actor=Actor(self.worker, DAEMON),
                                      reason=err.explanation, now=now)
            self.store.outcomes.requeue(post.id, worker=self.worker, at=post.scheduled_at,
                                        reason=err.explanation, now=now, attempt=result)
            report.retried += 1
        elif isinstance(err, DuplicateContent):
            # X's refusal means identical text is already live: an earlier try succeeded.
            # The outcome is closed first: it is unsure, so a crash here still leads to a look.
            self.store.outcomes.finish_attempt(result, now=now)
            if not self._settle_from_timeline(post, publisher, reply_to, clock, report,
                                              after_duplicate=True):
                self._fail(post, "the platform calls this post a duplicate, but it is not on "
                                 "the account's recent timeline; check the account, then "
                                 "resolve the post", now, report, PostStatus.NEEDS_REVIEW)
        elif isinstance(err, Permanent):
            self._fail(post, err.explanation, now, report, attempt=result)
        elif isinstance(err, Retryable) and self.retry.exhausted(post.attempt_count + 1):
            self._fail(post, f"{err.explanation} (gave up after {post.attempt_count + 1} "
                             "attempts)", now, report, attempt=result)
        else:  # Retryable with attempts left, or Ambiguous: look at the timeline next time
            self._requeue_after_backoff(post, err.explanation, now, report, result)

    def _settle_from_timeline(self, post: Post, publisher: Publisher, reply_to: str | None,
                              clock, report: TickReport, after_duplicate: bool = False) -> bool:
        """Look for the post on the account's timeline. True when the post was settled
        (published or sent to review); False means it is safe to send."""
        now = clock()
        since = self.store.outcomes.first_attempt_at(post.id)
        # Every post of the account published before our first try, and a thread part's
        # parent, is older than ours: where ids are ordered in time (X, which bills every post
        # read) the platform is asked only for what came after the newest of them. After a
        # duplicate refusal too: the identical post that counts as ours was made since our
        # first try. ("Before" is by the clocks of the daemons that recorded those posts: a
        # daemon whose clock runs ahead could make one look older than it is. Ours is then
        # missed, X refuses the resend as a duplicate and the post goes to review; it never
        # goes out twice.)
        after_id = None
        if registry.spec(publisher.platform).ordered_ids and since is not None:
            known = [reply_to, self.store.history.latest_remote_id(post.account,
                                                                   before=since)]
            after_id = max((k for k in known if k and k.isdigit()), key=int, default=None)
        try:
            with self.spend.charging(purpose="reconcile", post_id=post.id, clock=clock):
                # X's refusal says identical text is live: a post that matches but for links
                # X did not resolve is then the one it means, if it is the only one.
                found = find_on_timeline(publisher, post.text, reply_to=reply_to, since=since,
                                         after_id=after_id,
                                         with_media=post.media_id is not None,
                                         links_unknown=after_duplicate,
                                         elsewhere=lambda remote_id: self.store.history
                                         .recorded_for_another(post, remote_id),
                                         rivals=lambda: self.store.history.unsettled_texts(
                                             post, limit=MAX_RIVALS))
        except (PublishError, TimelineIncomplete) as err:
            self._fail(post, "the platform may have published this post but its timeline "
                             f"could not be read ({err}); check the account, then "
                             "run 'factpost post resolve'", now, report,
                       PostStatus.NEEDS_REVIEW)
            return True
        # The creates whose outcome was unknown are now known: made (billed) or not.
        self.spend.store.settle_post(post.id, found=found is not None,
                                     remote_id=found.remote_id if found else None)
        if found is None:
            return False
        self.store.outcomes.published(post.id, worker=self.worker, now=clock(),
                                      remote_id=found.remote_id, remote_url=found.remote_url,
                                      reason="found on the account's timeline after an unclear "
                                         "outcome" + (" (duplicate refusal)" if after_duplicate
                                                      else ""))
        report.published += 1
        report.by_account[post.account] = report.by_account.get(post.account, 0) + 1
        return True

    def _requeue_after_backoff(self, post: Post, reason: str, now: datetime,
                               report: TickReport, attempt: AttemptResult) -> None:
        with self._rng_lock:
            delay = self.retry.delay(post.attempt_count + 1, self._rng)
        self.store.outcomes.requeue(post.id, worker=self.worker, at=now + delay, reason=reason,
                                    now=now, attempt=attempt)
        report.retried += 1

    def _fail(self, post: Post, reason: str, now: datetime, report: TickReport,
              status: PostStatus = PostStatus.FAILED, attempt: AttemptResult | None = None
              ) -> None:
        # The store may send the post to needs_review instead (its pair partner is already out)
        # and fails what cannot go without it: later thread parts, the partner.
        changed = self.store.outcomes.failed(post.id, worker=self.worker, reason=reason, now=now,
                                             status=status, attempt=attempt)
        for p in changed:
            if p.status == PostStatus.NEEDS_REVIEW:
                report.needs_review += 1
            else:
                report.failed += 1

    def _pace(self, account: AccountConfig, publisher: Publisher, now: datetime) -> None:
        """Hold the account before the platform has to say no: aim for zero 429s."""
        state = publisher.rate_limit
        if state is not None and state.remaining == 0 and state.reset_at and state.reset_at > now:
            self.store.accounts.hold(account.name, until=state.reset_at,
                                     reason="the platform's rate-limit allowance is used up")
