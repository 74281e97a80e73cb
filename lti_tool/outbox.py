"""Grade passback through a persistent outbox: claim rows with a lease, send, mark sent; retry with backoff.

At-least-once delivery made safe by AGS semantics: a resent score carries its original timestamp
and value, and the platform keeps one result per user and line item, so a retry after a crash
cannot add a second grade. The tool does not lean on that alone: a row whose earlier send began
but was never recorded (a worker killed mid-send, a timeout) is first checked against the
platform's results where it grants result.readonly, and marked sent without a second POST when
the platform already holds that score and comment. A row is never lost: while the platform is down, slow or answers 5xx/429
it stays pending and is retried with capped exponential backoff for as long as it takes; only a
permanent refusal (a 4xx other than 408/429) marks it failed, visible to the instructor, who can
resend. Before each POST the worker renews its lease on the row and skips the row if the lease was
lost, so a slow platform cannot make two workers send the same row.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update

from ce_xblock.core.locale import N_

from .lti.adapter import SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE, ServiceError
from .store import OutboxScore, ResourceLink, activity_row

log = logging.getLogger("ce_credit.outbox")

LEASE_SECONDS = 60.0
BACKOFF_BASE = 1.0
BACKOFF_MAX = 600.0


def backoff(tries: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: exponential with jitter, never sooner than Retry-After."""
    delay = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, tries - 1)))
    delay = delay * (0.5 + random.random() / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_MAX))
    return delay


def service_url(lineitem_url: str, service: str = "scores", **query: str) -> str:
    """The line item's /scores (or /results) endpoint, keeping any query string (Moodle puts the
    type id there) and adding `query`."""
    parts = urlsplit(lineitem_url)
    q = "&".join(x for x in (parts.query, urlencode(query)) if x)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + service, query=q))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(tool: Any, owner: str, limit: int = 20, now: float | None = None) -> list[OutboxScore]:
    """Lease up to `limit` due rows to `owner`. Two workers never hold the same row."""
    now = time.time() if now is None else now
    with tool.sessions.begin() as s:
        q = (
            select(OutboxScore.id)
            .where(OutboxScore.status == "pending", OutboxScore.next_attempt_at <= now, OutboxScore.lease_until < now)
            .order_by(OutboxScore.id)
            .limit(limit)
        )
        if s.bind.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if not ids:
            return []
        # The lease condition is checked again by the UPDATE itself, so a row another worker
        # leased between our SELECT and UPDATE is not taken twice.
        s.execute(
            update(OutboxScore)
            .where(OutboxScore.id.in_(ids), OutboxScore.status == "pending", OutboxScore.lease_until < now)
            .values(lease_owner=owner, lease_until=now + LEASE_SECONDS)
        )
    with tool.sessions() as s:
        return list(
            s.scalars(
                select(OutboxScore)
                .where(OutboxScore.id.in_(ids), OutboxScore.lease_owner == owner, OutboxScore.status == "pending")
                .order_by(OutboxScore.id)
            )
        )


def renew_lease(tool: Any, row_id: int, owner: str, now: float | None = None) -> bool:
    """Extend `owner`'s lease on a row just before sending it; False when the lease was lost.

    A lease that ran out while earlier rows of a batch were slow to send may have been taken by
    another worker, which then owns the send.
    """
    now = time.time() if now is None else now
    with tool.sessions.begin() as s:
        res = s.execute(
            update(OutboxScore)
            .where(
                OutboxScore.id == row_id,
                OutboxScore.lease_owner == owner,
                OutboxScore.status == "pending",
                OutboxScore.lease_until >= now,
            )
            .values(lease_until=now + LEASE_SECONDS, send_started_at=now)
        )
    return res.rowcount == 1


def _finish(tool: Any, row_id: int, owner: str, **values: Any) -> bool:
    return _finish_many(tool, owner, [(row_id, values)]) == 1


def _finish_many(tool: Any, owner: str, outcomes: list[tuple[int, dict[str, Any]]]) -> int:
    """Record several outcomes in one transaction; only rows this owner still holds are changed."""
    done = 0
    with tool.sessions.begin() as s:
        for row_id, values in outcomes:
            res = s.execute(
                update(OutboxScore)
                .where(OutboxScore.id == row_id, OutboxScore.lease_owner == owner)
                .values(lease_owner="", lease_until=0.0, **values)
            )
            done += res.rowcount
    return done


def resolve_lineitem(tool: Any, platform: Any, rl: ResourceLink, score_maximum: float) -> str:
    """The line item for a resource link: from the launch, else found or created by resourceId/tag."""
    if rl.lineitem_url:
        return rl.lineitem_url
    if not rl.lineitems_url:
        raise ServiceError(
            "The platform gave no line item and no line items URL for this link, so there is nowhere to "
            "send the grade. Enable Assignment and Grade Services for the tool in the platform.",
            status=400,
            problem="no-gradebook",
        )
    # Only one worker may look for and create the line item: two that both found none would both
    # POST, and the platform would get two gradebook columns. The loser retries later and then
    # uses the stored URL; after a crash mid-create the claim expires and the next worker finds
    # the item that was created in the container before it would POST.
    claimant = uuid.uuid4().hex
    if not _claim_lineitem(tool, rl.id, claimant):
        stored = _stored_lineitem(tool, rl.id)
        if stored:
            return stored
        raise ServiceError(
            "Another worker is finding or creating this link's line item; the score is sent after it.",
            status=409,
            retry_after=1.0,
        )
    try:
        return _find_or_create_lineitem(tool, platform, rl, score_maximum)
    finally:
        _release_lineitem(tool, rl.id, claimant)


def _find_or_create_lineitem(tool: Any, platform: Any, rl: ResourceLink, score_maximum: float) -> str:
    stored = _stored_lineitem(tool, rl.id)
    if stored:
        return stored
    with tool.sessions() as s:
        row = activity_row(s, rl.activity_slug, rl.registration_id) if rl.activity_slug else None
        title = row.title if row is not None else rl.title
    resource_id = rl.activity_slug or rl.resource_link_id
    tag = "ce-credit"
    adapter = tool.adapter
    url: str | None = rl.lineitems_url
    while url:
        page = adapter.service_request(
            platform, [SCOPE_LINEITEM], url, accept="application/vnd.ims.lis.v2.lineitemcontainer+json"
        )
        for item in page.body or []:
            if (
                item.get("resourceLinkId") in (None, rl.resource_link_id)
                and item.get("resourceId") == resource_id
                and item.get("tag", tag) == tag
            ):
                return _remember(tool, rl.id, item["id"])
        url = page.next_url
    created = adapter.service_request(
        platform,
        [SCOPE_LINEITEM],
        rl.lineitems_url,
        method="POST",
        body={
            "scoreMaximum": score_maximum,
            "label": title or "CE post-test",
            "resourceId": resource_id,
            "tag": tag,
            "resourceLinkId": rl.resource_link_id,
        },
        content_type="application/vnd.ims.lis.v2.lineitem+json",
        accept="application/vnd.ims.lis.v2.lineitem+json",
    )
    return _remember(tool, rl.id, created.body["id"])


def _claim_lineitem(tool: Any, rl_pk: int, claimant: str) -> bool:
    """Atomically take the right to create the link's line item; False if another worker holds it."""
    now = time.time()
    with tool.sessions.begin() as s:
        res = s.execute(
            update(ResourceLink)
            .where(
                ResourceLink.id == rl_pk,
                ResourceLink.lineitem_url == "",
                ResourceLink.lineitem_claim_until < now,
            )
            .values(lineitem_claim_owner=claimant, lineitem_claim_until=now + LEASE_SECONDS)
        )
    return res.rowcount == 1


def _release_lineitem(tool: Any, rl_pk: int, claimant: str) -> None:
    with tool.sessions.begin() as s:
        s.execute(
            update(ResourceLink)
            .where(ResourceLink.id == rl_pk, ResourceLink.lineitem_claim_owner == claimant)
            .values(lineitem_claim_owner="", lineitem_claim_until=0.0)
        )


def _stored_lineitem(tool: Any, rl_pk: int) -> str:
    with tool.sessions() as s:
        return s.scalar(select(ResourceLink.lineitem_url).where(ResourceLink.id == rl_pk)) or ""


def _remember(tool: Any, rl_pk: int, url: str) -> str:
    """Store the line item's URL unless one is stored already; return the stored one."""
    with tool.sessions.begin() as s:
        s.execute(
            update(ResourceLink)
            .where(ResourceLink.id == rl_pk, ResourceLink.lineitem_url == "")
            .values(lineitem_url=url)
        )
    return _stored_lineitem(tool, rl_pk) or url


def platform_holds(tool: Any, platform: Any, lineitem: str, row: OutboxScore) -> bool:
    """Whether the platform's result for the row's learner already is this score and comment
    (AGS results: resultScore out of resultMaximum). Any doubt (no such result, a rescaled score
    that does not match, no comment where the row has one, an error) answers False."""
    try:
        page = tool.adapter.service_request(
            platform,
            [SCOPE_RESULT],
            service_url(lineitem, "results", user_id=row.user_sub),
            accept="application/vnd.ims.lis.v2.resultcontainer+json",
        )
    except ServiceError as err:
        log.info("score %s: could not read the platform's result first (%s); sending it", row.id, err)
        return False
    for result in page.body or []:
        if not isinstance(result, dict) or result.get("userId") != row.user_sub:
            continue
        given, maximum = result.get("resultScore"), result.get("resultMaximum") or row.score_maximum
        if not isinstance(given, int | float) or not isinstance(maximum, int | float) or maximum <= 0:
            return False
        same_score = abs(given / maximum - row.score_given / row.score_maximum) < 1e-9
        return same_score and (result.get("comment") or "") == (row.comment or "")
    return False


def send(tool: Any, row: OutboxScore, memo: dict[Any, Any] | None = None) -> str:
    """POST one score: "sent", or "confirmed" when an earlier send of this row (whose outcome was
    never recorded) had reached the platform already. Raises ServiceError on failure. `memo`
    shares look-ups within one drain."""
    memo = {} if memo is None else memo
    pkey = ("platform", row.registration_id)
    if pkey not in memo:
        memo[pkey] = tool.platform(row.registration_id)
    platform = memo[pkey]
    if platform is None:
        raise ServiceError("The platform registration was removed.", status=410)
    with tool.sessions() as s:
        rl = s.get(ResourceLink, row.resource_link_pk)
    if rl is None:
        raise ServiceError("The resource link was removed.", status=410)
    lineitem = resolve_lineitem(tool, platform, rl, row.score_maximum)
    if row.send_started_at and SCOPE_RESULT in (rl.ags_scopes or ()) and platform_holds(tool, platform, lineitem, row):
        log.info("score %s for %s: the platform already holds it; not sent again", row.id, row.user_sub)
        return "confirmed"
    tool.adapter.service_request(
        platform,
        [SCOPE_SCORE],
        service_url(lineitem),
        method="POST",
        body={
            "userId": row.user_sub,
            "scoreGiven": row.score_given,
            "scoreMaximum": row.score_maximum,
            "activityProgress": row.activity_progress,
            "gradingProgress": row.grading_progress,
            "timestamp": row.timestamp,
            "comment": row.comment,
        },
        content_type="application/vnd.ims.lis.v1.score+json",
    )
    return "sent"


# The kinds of failure a send can meet, as the instructor report explains them: what happened and
# what to do. The platform's own words (last_error) follow as the technical detail.
PROBLEMS = {
    "unreachable": N_("The platform could not be reached. The tool keeps trying by itself."),
    "access": N_(
        "The platform refused the tool access to its gradebook. An LMS administrator should check that "
        "the tool's registration allows Assignment and Grade Services (scores and line items)."
    ),
    "gone": N_(
        "The platform no longer knows this grade column, course or registration. Check the assignment "
        "in the platform, then resend the grade."
    ),
    "busy": N_("The platform was busy or failing. The tool keeps trying by itself."),
    "no-gradebook": N_(
        "The platform offered no gradebook for this link. An LMS administrator should enable Assignment "
        "and Grade Services for the tool; after the next launch, resend the grade."
    ),
    "rejected": N_("The platform rejected the grade. The details below say why; after fixing that, resend it."),
    "unexpected": N_("The grade could not be sent because of an unexpected error. The tool keeps trying by itself."),
}


def problem_of(err: BaseException) -> str:
    """The PROBLEMS key for a failed send."""
    if not isinstance(err, ServiceError):
        return "unexpected"
    if err.problem:
        return err.problem
    status = err.status
    if status is None:
        return "unreachable"
    if status in (401, 403):
        return "access"
    if status in (404, 410):
        return "gone"
    if err.retryable:  # 408, 409, 425, 429, 5xx
        return "busy"
    return "rejected"


def _outcome(tool: Any, row: OutboxScore, memo: dict[Any, Any]) -> tuple[str, dict[str, Any]]:
    """Send one row; return its counter name and the column values to record."""
    try:
        how = send(tool, row, memo)
    except ServiceError as err:
        tries = row.tries + 1
        log.warning("score %s for %s: %s", row.id, row.user_sub, err)
        failure = {"tries": tries, "last_error": str(err)[:2000], "last_problem": problem_of(err)}
        if err.retryable:
            return "retry", {**failure, "next_attempt_at": time.time() + backoff(tries, err.retry_after)}
        return "failed", {**failure, "status": "failed"}
    except Exception as err:  # a bug or an unexpected answer: keep the row, retry later
        log.exception("score %s", row.id)
        tries = row.tries + 1
        return "retry", {
            "tries": tries,
            "last_error": f"{type(err).__name__}: {err}"[:2000],
            "last_problem": problem_of(err),
            "next_attempt_at": time.time() + backoff(tries),
        }
    return how, {"status": "sent", "sent_at": datetime.now(UTC), "last_error": "", "last_problem": ""}


def drain(
    tool: Any, owner: str | None = None, limit: int = 20, max_rounds: int = 1000, concurrency: int = 1
) -> dict[str, int]:
    """Send every due row once (bounded); returns counts of sent, confirmed (found on the
    platform already, see platform_holds), retried and failed rows.

    Each row is marked right after its own send, so a worker killed mid-drain leaves at most the
    rows in flight (one per `concurrency`) to be resent after their lease; AGS treats such a resent
    score (same timestamp) as the same score.
    """
    owner = owner or worker_id()
    counts = {"sent": 0, "confirmed": 0, "retry": 0, "failed": 0}
    memo: dict[Any, Any] = {}

    def one(row: OutboxScore) -> str:
        if not renew_lease(tool, row.id, owner):
            return "skipped"
        kind, values = _outcome(tool, row, memo)
        _finish(tool, row.id, owner, **values)
        return kind

    pool = ThreadPoolExecutor(max_workers=concurrency) if concurrency > 1 else None
    try:
        for _ in range(max_rounds):
            rows = claim(tool, owner, limit)
            if not rows:
                break
            # Concurrent sends only once every link has its line item: the first score of a link may create it.
            kinds = list(pool.map(one, rows)) if pool and _lineitems_known(tool, rows) else [one(r) for r in rows]
            for kind in kinds:
                if kind != "skipped":
                    counts[kind] += 1
    finally:
        if pool:
            pool.shutdown()
    return counts


def _lineitems_known(tool: Any, rows: list[OutboxScore]) -> bool:
    with tool.sessions() as s:
        pks = {r.resource_link_pk for r in rows}
        missing = s.scalar(
            select(ResourceLink.id).where(ResourceLink.id.in_(pks), ResourceLink.lineitem_url == "").limit(1)
        )
    return missing is None


def resend(tool: Any, resource_link_pk: int, user_sub: str) -> bool:
    """Queue the learner's latest score again (instructor's "Resend")."""
    with tool.sessions.begin() as s:
        last = s.scalars(
            select(OutboxScore)
            .where(
                OutboxScore.resource_link_pk == resource_link_pk,
                OutboxScore.user_sub == user_sub,
                OutboxScore.status != "superseded",
            )
            .order_by(OutboxScore.id.desc())
        ).first()
        if last is None:
            return False
        if last.status == "pending":
            last.next_attempt_at = 0.0
            return True
        s.add(
            OutboxScore(
                registration_id=last.registration_id,
                resource_link_pk=last.resource_link_pk,
                user_sub=last.user_sub,
                score_given=last.score_given,
                score_maximum=last.score_maximum,
                activity_progress=last.activity_progress,
                grading_progress=last.grading_progress,
                comment=last.comment,
                timestamp=last.timestamp,
                status="pending",
                next_attempt_at=0.0,
            )
        )
        return True


class OutboxThread(threading.Thread):
    """The embedded default's passback worker, in the web process."""

    def __init__(self, tool: Any, interval: float) -> None:
        super().__init__(name="ce-credit-outbox", daemon=True)
        self.tool = tool
        self.interval = interval
        self._stop_event = threading.Event()
        self.wake = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                drain(self.tool, max_rounds=50)
            except Exception:  # the database may be briefly unavailable; try again next round
                log.exception("outbox drain failed")
            self.wake.wait(self.interval)
            self.wake.clear()

    def stop(self) -> None:
        self._stop_event.set()
        self.wake.set()


def start_thread(tool: Any) -> OutboxThread:
    t = OutboxThread(tool, float(tool.config.get("OUTBOX_INTERVAL", 1.0)))
    t.start()
    return t


def run_worker(
    tool: Any, interval: float = 1.0, once: bool = False, stop: threading.Event | None = None, concurrency: int = 1
) -> None:
    """`ce-credit worker`: drain forever (or once)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        counts = drain(tool, concurrency=concurrency)
        if any(counts.values()):
            log.info("outbox: %s", counts)
        if once:
            return
        stop.wait(interval)
