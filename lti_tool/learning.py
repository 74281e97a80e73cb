"""The learner side of the tool: activities from the library, learner state per resource link, actions.

State is stored per (registration, platform user, resource link) as flow.LearnerState.to_dict().
Saves use a revision number, so two workers handling the same learner at once never lose an
update: the loser re-reads and re-applies its action. Each scored attempt queues a score in the
outbox in the same transaction as the state, so a grade is never lost between the two.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ce_xblock.core import flow, olx
from ce_xblock.core.activity import Activity
from ce_xblock.core.locale import translator

from . import accommodations
from .launches import LaunchContext
from .prepared import Prepared
from .store import (
    SHARED_LIBRARY,
    IssuedCertificate,
    LearnerRecord,
    OutboxScore,
    ResourceLink,
    StoredActivity,
    ToolKey,
    activity_query,
)

_activity_cache: dict[tuple[int, str], tuple[datetime, Activity, float]] = {}
_activity_lock = threading.Lock()
_cert_keys: dict[str, Any] = {}


ACTIVITY_TTL = 2.0  # seconds a worker trusts its parsed copy before checking for an edit


def activity_for(tool: Any, slug: str, owner: int = SHARED_LIBRARY) -> Activity | None:
    """The activity with this slug as registration `owner` sees it, parsed once per process and
    re-parsed when it is edited."""
    now = time.monotonic()
    key = (owner, slug)
    hit = _activity_cache.get(key)
    if hit and hit[2] > now:
        return hit[1]
    with tool.sessions() as s:
        found = s.execute(activity_query(slug, owner, StoredActivity.id, StoredActivity.updated_at)).first()
        if found is None:
            return None
        row_id, updated_at = found
        if hit and hit[0] == updated_at:
            activity = hit[1]
        else:
            text = s.scalar(select(StoredActivity.olx).where(StoredActivity.id == row_id))
            activity = olx.loads(text, filename=f"{slug}.xml")
    with _activity_lock:
        _activity_cache[key] = (updated_at, activity, now + ACTIVITY_TTL)
    return activity


def forget_activity(slug: str) -> None:
    """Drop this worker's parsed copies of `slug`, for every owner (a new copy shadows the shared one)."""
    with _activity_lock:
        for key in [k for k in _activity_cache if k[1] == slug]:
            _activity_cache.pop(key, None)


def seed_for(lc: LaunchContext) -> str:
    """Stable per learner and resource link, so a reload redraws the same form."""
    return hashlib.sha256(f"{lc.registration_id}\0{lc.sub}\0{lc.resource_link_id}".encode()).hexdigest()[:16]


def _profile(lc: LaunchContext) -> dict[str, Any]:
    return {"full_name": lc.name, "anonymous": not lc.name}


def _links(lc: LaunchContext, state: flow.LearnerState) -> dict[str, str]:
    cid = (state.certificate or {}).get("id")
    if not cid:
        return {}
    api = f"/lti/api/{lc.launch_id}"
    # The full address printed on the certificate (and in its QR code), which the page shows to
    # give to a licensing board; a bare path is no use to someone outside this site.
    record = (((state.certificate or {}).get("signed") or {}).get("record")) or {}
    verify = record.get("verification_url") or f"/verify/{cid}"
    return {"pdf": f"{api}/certificate.pdf", "credential": f"{api}/credential.json", "verify": verify}


def signed_certificate(tool: Any, lc: LaunchContext) -> Any:
    """The learner's signed certificate record for this link, or None."""
    from ce_xblock.core import certificate

    with tool.sessions() as s:
        stored = s.scalar(
            select(LearnerRecord.state).where(
                LearnerRecord.resource_link_pk == lc.resource_link_pk, LearnerRecord.user_sub == lc.sub
            )
        )
    data = ((stored or {}).get("certificate") or {}).get("signed")
    return certificate.SignedRecord.from_dict(data) if data else None


def render_pdf(tool: Any, signed: Any) -> bytes:
    """The certificate PDF of a signed record with the tool's page size, logo and signature image."""
    from ce_xblock.core import pdf

    return pdf.render_pdf(signed, **tool.certificate_layout)


def certificate_pdf(tool: Any, signed: Any) -> bytes:
    """The stored PDF of a certificate. A certificate issued before PDFs were stored (or by another
    path) is rendered once, stored, and served the same from then on."""
    cid = signed.certificate_id
    with tool.sessions() as s:
        data = s.scalar(select(IssuedCertificate.pdf).where(IssuedCertificate.cert_id == cid))
        if data is not None:
            return data
        data = render_pdf(tool, signed)
        s.execute(
            update(IssuedCertificate)
            .where(IssuedCertificate.cert_id == cid, IssuedCertificate.pdf.is_(None))
            .values(pdf=data)
        )
        s.commit()
        # Two workers may render at once; what was stored first is what everybody gets.
        return s.scalar(select(IssuedCertificate.pdf).where(IssuedCertificate.cert_id == cid)) or data


_learners = LearnerRecord.__table__
# One statement: the learner's stored state and the accommodation granted (lti_tool.accommodations).
_STATE_OF = Prepared(select(*accommodations.learner_columns(bindparam("pk"), bindparam("sub"))))


# The action path in Core statements built once (an ORM session, its unit of work and its
# statement building cost more than the database work of a submit).
# They run on the DBAPI cursor (lti_tool.prepared), which saves ~45 µs of SQLAlchemy per statement.
_ROW_OF = Prepared(
    select(
        _learners.c.id,
        _learners.c.state,
        _learners.c.revision,
        _learners.c.name,
        _learners.c.email,
        *accommodations.granted_columns(bindparam("pk"), bindparam("sub")),
    ).where(_learners.c.resource_link_pk == bindparam("pk"), _learners.c.user_sub == bindparam("sub"))
)
_SAVE = Prepared(
    update(_learners)
    .where(_learners.c.id == bindparam("row_id"), _learners.c.revision == bindparam("old_revision"))
    .values(state=bindparam("new_state"), revision=bindparam("new_revision"), updated_at=bindparam("now"))
)
_outbox = OutboxScore.__table__
_SUPERSEDE = Prepared(
    update(_outbox)
    .where(
        _outbox.c.resource_link_pk == bindparam("pk"),
        _outbox.c.user_sub == bindparam("sub"),
        _outbox.c.status == "pending",
        _outbox.c.lease_owner == "",
    )
    .values(status="superseded")
)


def _queue() -> tuple[Prepared, dict[str, Any]]:
    """The outbox INSERT with every column a parameter, and what a column gets when the values
    leave it out: its scalar default, else NULL where it may be NULL. A `Prepared` statement
    applies no Python-side defaults; created_at (a callable default) is the action's time."""
    columns = [c for c in _outbox.c if not c.primary_key]
    defaults = {
        c.name: c.default.arg if c.default is not None and c.default.is_scalar else None
        for c in columns
        if (c.default is not None and c.default.is_scalar) or (c.default is None and c.nullable)
    }
    statement = insert(_outbox).values({c.name: bindparam(c.name, type_=c.type) for c in columns})
    return Prepared(statement), defaults


_QUEUE, _QUEUE_DEFAULTS = _queue()


def _save_and_queue() -> Any:
    """WITH saved AS (UPDATE learner ... RETURNING id), superseded AS (UPDATE outbox ... WHERE a
    row was saved), queued AS (INSERT INTO outbox SELECT ... FROM saved) SELECT count(*) FROM saved."""
    saved = _SAVE.statement.returning(_learners.c.id).cte("saved")
    superseded = _SUPERSEDE.statement.where(select(saved.c.id).exists()).cte("superseded")
    values = {
        # Named q_*: a parameter named like a column would also be SET by the CTEs' UPDATEs.
        name: bindparam(f"q_{name}", type_=_outbox.c[name].type)
        for name in (
            "registration_id",
            "resource_link_pk",
            "user_sub",
            "score_given",
            "score_maximum",
            "activity_progress",
            "grading_progress",
            "comment",
            "timestamp",
            "status",
            "next_attempt_at",
        )
    }
    # The columns' Python-side defaults are not applied to an INSERT ... SELECT inside a CTE:
    # the scalar ones are written in, and created_at is the action's time.
    values["created_at"] = bindparam("now", type_=_outbox.c.created_at.type)
    for col in _outbox.c:
        if col.name not in values and col.default is not None and col.default.is_scalar:
            values[col.name] = literal(col.default.arg, col.type)
    row = select(*values.values()).select_from(saved)
    queued = insert(_outbox).from_select(list(values), row, include_defaults=False).cte("queued")
    return select(func.count()).select_from(saved).add_cte(superseded, queued)


_SAVE_AND_QUEUE = Prepared(_save_and_queue())


class ParsedStates:
    """This worker's parsed copies of the learner states it read or wrote lately, by (resource
    link, user). A copy is used only while the database holds exactly the state it was parsed
    from (compared as decoded JSON), so a save by another worker, the records CLI or a migration
    is never missed. It spares each action re-reading and re-checking every stored attempt, which
    grows with each attempt a learner makes."""

    SIZE = 2048

    def __init__(self) -> None:
        self._states: OrderedDict[tuple[Any, str], tuple[dict[str, Any], flow.LearnerState]] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, lc: LaunchContext, stored: dict[str, Any] | None) -> flow.LearnerState:
        """The state in `stored` (a copy the caller may change)."""
        stored = stored or {}
        hit = self._states.get((lc.resource_link_pk, lc.sub))
        if hit is not None and hit[0] == stored:
            return hit[1].copy()
        state = flow.LearnerState.from_dict(stored)
        self.remember(lc, stored, state.copy())
        return state

    def remember(self, lc: LaunchContext, stored: dict[str, Any], state: flow.LearnerState) -> None:
        """`state` is what `stored` (just saved) parses to; the caller no longer changes it."""
        key = (lc.resource_link_pk, lc.sub)
        with self._lock:
            self._states[key] = (stored, state)
            self._states.move_to_end(key)
            while len(self._states) > self.SIZE:
                self._states.popitem(last=False)


def parsed_states(tool: Any) -> ParsedStates:
    """The tool's cache of parsed learner states (one per tool: tests run several in one process)."""
    cache = getattr(tool, "_parsed_states", None)
    if cache is None:
        cache = tool._parsed_states = ParsedStates()
    return cache


def _learner_row(tool: Any, lc: LaunchContext) -> Any:
    """The learner's row with the accommodation granted to them, in one SELECT. The row is created
    at the learner's first action; a changed name or email from the platform is kept."""
    params = {"pk": lc.resource_link_pk, "sub": lc.sub}
    with tool.reader.connect() as c:
        row = _ROW_OF.first(c, params)
    if row is None:
        try:
            with tool.engine.begin() as c:
                c.execute(
                    insert(_learners).values(
                        registration_id=lc.registration_id,
                        resource_link_pk=lc.resource_link_pk,
                        user_sub=lc.sub,
                        name=lc.name,
                        email=lc.email,
                        state={},
                        revision=0,
                    )
                )
        except IntegrityError:
            pass  # another worker created it first
        with tool.reader.connect() as c:
            return _ROW_OF.one(c, params)
    if (lc.name and row.name != lc.name) or (lc.email and row.email != lc.email):
        with tool.engine.begin() as c:
            c.execute(
                update(_learners)
                .where(_learners.c.id == row.id)
                .values(name=lc.name or row.name, email=lc.email or row.email)
            )
    return row


def current_view(
    tool: Any,
    lc: LaunchContext,
    activity: Activity,
    now: datetime | None = None,
    stored: tuple[Any, Any, Any] | None = None,
) -> dict[str, Any]:
    """The learner's current view. Read-only: a learner's row is created at their first action,
    so a launch costs no database write, except when an attempt's time ran out (store_expired).

    `stored` is (state, extra attempts, extra minutes) as the caller has just read them (a launch
    reads them with its resource link); otherwise they are read here."""
    now = now or datetime.now(UTC)
    if stored is None:
        # Core on a pooled connection, not an ORM session: this runs on every launch.
        with tool.reader.connect() as c:
            stored = tuple(_STATE_OF.one(c, {"pk": lc.resource_link_pk, "sub": lc.sub}))
    state_json, extra_attempts, extra_minutes = stored
    state = accommodations.overlay(parsed_states(tool).parse(lc, state_json), extra_attempts, extra_minutes)
    if flow.close_expired(state, now) is not state:
        # An attempt whose time ran out while the learner was away: stored closed as failed, and
        # its score queued, now (the one launch that writes).
        state = store_expired(tool, lc, activity, now)
    return flow.view(activity, state, now, locale=lc.locale, profile=_profile(lc), links=_links(lc, state))


def store_expired(tool: Any, lc: LaunchContext, activity: Activity, now: datetime) -> flow.LearnerState:
    """Close the learner's attempt whose time ran out as failed, store it and queue its score, as
    for any failed attempt; return the learner's state (unchanged when no attempt expired)."""
    for _ in range(5):
        row = _learner_row(tool, lc)
        before = accommodations.overlay(parsed_states(tool).parse(lc, row.state), row.extra_attempts, row.extra_minutes)
        after = flow.close_expired(before, now)
        if after is before:
            return before
        new_state = after.to_dict()
        with tool.engine.begin() as c:
            saved = _SAVE.rowcount(c, _save_params(row, new_state, now)) == 1
            if saved and _grade_changed(activity, before, after):
                enqueue_score(c, lc, activity, after, now)
        if saved:
            parsed_states(tool).remember(lc, new_state, after.copy())
            return after
    return after  # busy: shown closed now, stored by the learner's next action


def _save_params(row: Any, new_state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """_SAVE's parameters: the new state, saved only over the revision that was read."""
    return {
        "row_id": row.id,
        "old_revision": row.revision,
        "new_state": new_state,
        "new_revision": row.revision + 1,
        "now": now,
    }


def run_action(
    tool: Any, lc: LaunchContext, action: str, payload: dict[str, Any], now: datetime | None = None
) -> tuple[int, dict[str, Any]]:
    """Apply a learner action; returns (HTTP status, view or error dict)."""
    if lc.resource_link_pk is None:
        message = translator(lc.locale).gettext("This launch has no activity link.")
        return 400, {"error": "no-resource-link", "message": message, "field": None}
    activity = activity_for(tool, lc.activity_slug, lc.registration_id) if lc.activity_slug else None
    if activity is None:
        message = translator(lc.locale).gettext("This link has no CE activity yet.")
        return 404, {"error": "no-activity", "message": message, "field": None}
    for _ in range(5):
        now_ = now or datetime.now(UTC)
        row = _learner_row(tool, lc)
        # The accommodation an instructor granted is the truth, whatever the stored state says.
        before = accommodations.overlay(parsed_states(tool).parse(lc, row.state), row.extra_attempts, row.extra_minutes)
        issuer = _certificate_issuer(tool, lc, row.id, now_)
        try:
            after, view = flow.act(
                activity,
                before,
                action,
                payload,
                now_,
                seed=seed_for(lc),
                issue_certificate=issuer,
                locale=lc.locale,
                profile=_profile(lc),
                links=_links(lc, before),
            )
        except flow.FlowError as err:
            if isinstance(err, flow.Conflict):
                # A refused late submit: the expired attempt is still closed as failed, stored and
                # its score queued.
                store_expired(tool, lc, activity, now_)
            return err.status, err.to_dict()  # 400, or 409 when the post-test's time ran out
        new_state = after.to_dict()
        if new_state == row.state:
            return 200, view
        # The state, its queued grade and a new certificate are saved in one transaction, and only
        # if nobody saved this learner since the read (else: re-read and apply the action again).
        save = _save_params(row, new_state, now_)
        if issuer.issued is None and tool.engine.dialect.name == "postgresql":
            queued = score_values(lc, activity, after, now_) if _grade_changed(activity, before, after) else None
            saved = _save_in_one_statement(tool, lc, save, queued)
        else:
            saved = _save_in_a_transaction(tool, lc, activity, before, after, issuer, save, now_)
        if not saved:
            continue
        parsed_states(tool).remember(lc, new_state, after.copy())
        if issuer.issued is not None:
            # The certificate's links exist only now that it has an id.
            view = flow.view(activity, after, now_, locale=lc.locale, profile=_profile(lc), links=_links(lc, after))
        return 200, view
    message = translator(lc.locale).gettext("Your answer could not be saved; please try again.")
    return 409, {"error": "busy", "message": message, "field": None}


def _save_in_a_transaction(
    tool: Any,
    lc: LaunchContext,
    activity: Activity,
    before: flow.LearnerState,
    after: flow.LearnerState,
    issuer: _CertificateIssuer,
    save: dict[str, Any],
    now_: datetime,
) -> bool:
    with tool.engine.begin() as c:
        saved = _SAVE.rowcount(c, save) == 1
        if saved and _grade_changed(activity, before, after):
            enqueue_score(c, lc, activity, after, now_)
        if saved and issuer.issued is not None:
            with Session(bind=c) as certs:
                certs.add(issuer.issued)
                certs.flush()
    return saved


def _save_in_one_statement(tool: Any, lc: LaunchContext, save: dict[str, Any], queued: dict[str, Any] | None) -> bool:
    """PostgreSQL: the state, the superseding of older unsent scores and the new score in one
    statement (data-modifying CTEs), which is atomic without BEGIN and COMMIT: one round trip
    where the transaction takes five. The score is queued only if the state was saved."""
    with tool.reader.connect() as c:
        if queued is None:
            return _SAVE.rowcount(c, save) == 1
        params = {**save, **{f"q_{k}": v for k, v in queued.items()}, "pk": lc.resource_link_pk, "sub": lc.sub}
        return _SAVE_AND_QUEUE.one(c, params)[0] == 1


def _grade_changed(activity: Activity, before: flow.LearnerState, after: flow.LearnerState) -> bool:
    """Whether the platform's copy of the grade (score, progress or comment) is now out of date."""
    return (
        len(before.submitted) != len(after.submitted)
        or flow.is_complete(activity, before) != flow.is_complete(activity, after)
        or flow.raw_score(before) != flow.raw_score(after)
        or bool(before.certificate) != bool(after.certificate)
    )


def score_comment(activity: Activity, state: flow.LearnerState) -> str:
    """The gradebook comment, e.g. "Passed 2 of 3 attempts; certificate CE-7K3Q-M2XD"."""
    used = len(state.submitted)
    allowed = activity.policy.max_attempts
    of = f" of {allowed + state.extra_attempts}" if allowed is not None else ""
    noun = "attempt" if used == 1 and not of else "attempts"
    head = f"Passed {used}{of} {noun}" if state.passed else f"Not passed; {used}{of} {noun} used"
    cid = (state.certificate or {}).get("id")
    return f"{head}; certificate {cid}" if cid else head


def enqueue_score(conn: Any, lc: LaunchContext, activity: Activity, state: flow.LearnerState, now: datetime) -> None:
    """Queue this learner's current grade for the platform, in `conn`'s transaction (a Core
    Connection). Older unsent scores are superseded."""
    values = score_values(lc, activity, state, now)
    if values is None:
        return
    _SUPERSEDE.rowcount(conn, {"pk": lc.resource_link_pk, "sub": lc.sub})
    _QUEUE.rowcount(conn, {**_QUEUE_DEFAULTS, "created_at": now, **values})


def score_values(
    lc: LaunchContext, activity: Activity, state: flow.LearnerState, now: datetime
) -> dict[str, Any] | None:
    """The outbox row for this learner's current grade, or None when there is nothing to send."""
    if lc.preview:
        return None
    raw = flow.raw_score(state, "best")
    if raw is None:
        return None
    points, max_points = raw
    complete = flow.is_complete(activity, state)
    return {
        "registration_id": lc.registration_id,
        "resource_link_pk": lc.resource_link_pk,
        "user_sub": lc.sub,
        "score_given": float(points),
        "score_maximum": float(max_points),
        "activity_progress": "Completed" if complete else ("Submitted" if state.passed else "InProgress"),
        "grading_progress": "FullyGraded",
        "comment": score_comment(activity, state),
        "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds"),
        "status": "pending",
        "next_attempt_at": 0.0,
    }


# --- certificates --------------------------------------------------------------------------------


def certificate_signing_key(tool: Any) -> Ed25519PrivateKey:
    # Per database, not per process: tests and the demo run several tools (databases) in one process.
    key = _cert_keys.get(str(tool.engine.url))
    if key is not None:
        return key
    with tool.sessions() as s:
        row = s.scalars(
            select(ToolKey)
            .where(ToolKey.purpose == "certificate", ToolKey.current.is_(True))
            .order_by(ToolKey.created_at)
        ).first()
        if row is None:
            new = Ed25519PrivateKey.generate()
            pem = new.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            from ce_xblock.core import certificate

            row = ToolKey(
                kid="cert-" + certificate.key_id(new),
                purpose="certificate",
                private_pem=pem,
                public_jwk={},
                current=True,
            )
            try:
                s.add(row)
                s.commit()
            except IntegrityError:
                s.rollback()
                row = s.scalars(
                    select(ToolKey).where(ToolKey.purpose == "certificate", ToolKey.current.is_(True))
                ).first()
    key = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    _cert_keys[str(tool.engine.url)] = key
    return key


def certificate_keys(tool: Any) -> list[Ed25519PrivateKey]:
    with tool.sessions() as s:
        rows = s.scalars(select(ToolKey).where(ToolKey.purpose == "certificate")).all()
    out = []
    for row in rows:
        k = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
        out.append(k)
    return out


class _CertificateIssuer:
    """flow's issue_certificate callback: signs the record and stages its row in the same save."""

    def __init__(self, tool: Any, lc: LaunchContext, learner_pk: int, now: datetime) -> None:
        self.tool, self.lc, self.learner_pk, self.now = tool, lc, learner_pk, now
        self.issued: IssuedCertificate | None = None

    def __call__(self, activity: Activity, state: flow.LearnerState, completion: Any) -> dict[str, Any]:
        from flask import has_request_context, request

        from ce_xblock.core import certificate

        base = self.tool.config.get("PUBLIC_URL") or (request.url_root if has_request_context() else "http://localhost")
        signed = certificate.issue(
            activity,
            completion,
            certificate_id=certificate.new_certificate_id(os.urandom(5)),
            issued_at=self.now,
            private_key=certificate_signing_key(self.tool),
            verification_base_url=base.rstrip("/") + "/verify",
            # Printed in the launch's language (its locale claim, else the browser's), frozen in the record.
            locale=self.lc.locale,
        )
        data = signed.to_dict()
        # The PDF is rendered once, now, and stored: every download serves these bytes, whatever
        # later happens to the fonts, the libraries or the logo setting.
        self.issued = IssuedCertificate(
            cert_id=signed.certificate_id, learner_pk=self.learner_pk, record=data, pdf=render_pdf(self.tool, signed)
        )
        # "signed" as in the XBlock's state, so both homes read a certificate the same way.
        return {"id": signed.certificate_id, "issued_at": data["record"]["issued_at"], "signed": data}


def _certificate_issuer(tool: Any, lc: LaunchContext, learner_pk: int, now: datetime) -> _CertificateIssuer:
    return _CertificateIssuer(tool, lc, learner_pk, now)


def resource_link(tool: Any, pk: int) -> ResourceLink | None:
    with tool.sessions() as s:
        return s.get(ResourceLink, pk)
