"""The LTI tool's certificate records in its database: streaming reads, the status log, revoke and correct,
verification by id, and retention purges. The CE rules stay in ce_xblock.core (certificate, records, verify).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select

from ce_xblock.core import certificate as cert
from ce_xblock.core import flow
from ce_xblock.core import records as rec_mod
from ce_xblock.core import verify as ver

from .store import CertificateStatusEntry, IssuedCertificate, LearnerRecord, ResourceLink

BATCH = 500  # rows fetched per round trip when streaming; memory stays flat whatever the table size
PREVIEW_PREFIX = "preview:"  # instructors' own preview state never counts as a learner's record
CORRECTABLE = ("legal_name", "license_number", "license_state", "profession")


class RecordsError(ValueError):
    """A records operation that cannot be done; the message says why and what to do instead."""


# --- reading ------------------------------------------------------------------------------------


def status_log(session: Any, cert_ids: Iterable[str] | None = None) -> list[cert.StatusEvent]:
    """The status log as engine StatusEvents (all of it, or for the given ids)."""
    q = select(CertificateStatusEntry).order_by(CertificateStatusEntry.at, CertificateStatusEntry.id)
    if cert_ids is not None:
        q = q.where(CertificateStatusEntry.cert_id.in_(list(cert_ids)))
    return [
        cert.StatusEvent(e.cert_id, cert.Status(e.status), e.reason, rec_mod.as_aware(e.at), e.replacement_id)
        for e in session.scalars(q)
    ]


def replaced_or_revoked(session: Any) -> set[str]:
    """Ids that must not be reported as current: revoked or superseded (exports pass these as `exclude`)."""
    return set(session.scalars(select(CertificateStatusEntry.cert_id).distinct()))


def iter_signed(sessions: Any, *, resource_link_pks: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
    """Every stored signed record (dict form), streamed in batches; optionally only those of some links.

    The session lives as long as the generator, so a streamed HTTP response reads the table row by row.
    """
    q = select(IssuedCertificate.record).order_by(IssuedCertificate.created_at, IssuedCertificate.cert_id)
    if resource_link_pks is not None:
        q = q.join(LearnerRecord, LearnerRecord.id == IssuedCertificate.learner_pk).where(
            LearnerRecord.resource_link_pk.in_(list(resource_link_pks))
        )
    with sessions() as s:
        # A Core result on the session's connection: the ORM result buffered far more than one batch.
        result = s.connection().execution_options(yield_per=BATCH).execute(q)
        for (record,) in result:
            yield record


def iter_states(sessions: Any, resource_link_pks: Iterable[int]) -> Iterator[tuple[LearnerRecord, flow.LearnerState]]:
    """Learners' stored states in the given links (instructor previews left out), streamed."""
    q = (
        select(LearnerRecord)
        .where(LearnerRecord.resource_link_pk.in_(list(resource_link_pks)))
        .order_by(LearnerRecord.id)
        .execution_options(yield_per=BATCH)
    )
    with sessions() as s:
        for row in s.execute(q).scalars():
            if row.user_sub.startswith(PREVIEW_PREFIX):
                continue
            yield row, flow.LearnerState.from_dict(row.state)


def participations(
    rows: Iterable[tuple[LearnerRecord, flow.LearnerState]], activity_id: str
) -> Iterator[rec_mod.Participation]:
    """Attendance rows for records.attendance_rows: everyone who started, completed or not."""
    for row, st in rows:
        p = rec_mod.participation_of(st, activity_id=activity_id, learner_id=row.user_sub, learner_name=row.name or "")
        if p is not None:
            yield p


def first_scores(
    rows: Iterable[tuple[LearnerRecord, flow.LearnerState]], start: date | None = None, end: date | None = None
) -> Iterator[Any]:
    """Each learner's first scored attempt submitted in [start, end]: the input of classical item statistics."""
    for _row, st in rows:
        sub = st.submitted
        if sub and rec_mod.in_range(sub[0].submitted_at.date(), start, end):
            yield sub[0].score


def evaluations(
    rows: Iterable[tuple[LearnerRecord, flow.LearnerState]], start: date | None = None, end: date | None = None
) -> Iterator[dict[str, Any]]:
    """Submitted evaluations (item id -> answer) in [start, end]."""
    for _row, st in rows:
        at = st.evaluation_submitted_at
        if at is not None and rec_mod.in_range(at.date(), start, end):
            yield dict(st.evaluation_answers)


# --- verification -------------------------------------------------------------------------------


def verify_id(tool: Any, typed_id: str) -> ver.VerificationResult:
    """What the public page shows for a typed or scanned id: valid, superseded, revoked, unknown or invalid."""
    from .learning import certificate_keys  # noqa: PLC0415 - learning imports the Flask side

    try:
        cid = cert.normalize_certificate_id(typed_id)
    except cert.CertificateIdError:
        return ver.verify_stored(typed_id, None, [])  # reports the typing problem
    with tool.sessions() as s:
        row = s.get(IssuedCertificate, cid)
        log = status_log(s, [cid])
        data = row.record if row is not None else None
    keys = [k.public_key() for k in certificate_keys(tool)]
    if data is None:
        return ver.verify_stored(cid, None, keys, log)
    try:
        signed = cert.SignedRecord.from_dict(data)
    except (KeyError, TypeError, ValueError) as err:
        result = ver.VerificationResult("id", certificate_id=cid, status_checked=True)
        result.problems.append(f"The stored record of {cid} cannot be read ({err}) — contact the provider.")
        return result
    if signed.certificate_id != cid:
        # A stored row whose record names another id was changed after issue.
        result = ver.VerificationResult("id", certificate_id=cid, status_checked=True)
        result.problems.append(f"The stored record of {cid} names another certificate — contact the provider.")
        return result
    return ver.verify_stored(cid, signed, keys, log)


# --- administration -----------------------------------------------------------------------------


def _load_current(s: Any, cert_id: str, registration_id: int | None) -> tuple[IssuedCertificate, cert.SignedRecord]:
    try:
        cid = cert.normalize_certificate_id(cert_id)
    except cert.CertificateIdError as err:
        raise RecordsError(f"{cert_id!r} is not a certificate id: {err}") from err
    row = s.get(IssuedCertificate, cid)
    if row is None:
        raise RecordsError(f"No certificate {cid} was issued by this tool. Check the id in the report.")
    if registration_id is not None:
        learner = s.get(LearnerRecord, row.learner_pk) if row.learner_pk else None
        if learner is None or learner.registration_id != registration_id:
            raise RecordsError(f"Certificate {cid} was not issued in your platform's courses, so you cannot change it.")
    for e in status_log(s, [cid]):
        if e.status is cert.Status.REVOKED:
            raise RecordsError(f"Certificate {cid} is already revoked ({e.reason}); a revoked certificate stays so.")
        if e.status is cert.Status.SUPERSEDED:
            raise RecordsError(
                f"Certificate {cid} was already replaced by {e.replacement_id}. Revoke or correct {e.replacement_id}."
            )
    return row, cert.SignedRecord.from_dict(row.record)


def revoke(
    tool: Any, cert_id: str, reason: str, *, now: datetime, actor: str, registration_id: int | None = None
) -> cert.StatusEvent:
    """Revoke a certificate: the record stays, the status log gets the reason and date."""
    with tool.sessions() as s:
        row, signed = _load_current(s, cert_id, registration_id)
        try:
            event = cert.revoke(signed, reason=reason, at=now)
        except ValueError as err:
            raise RecordsError(str(err)) from err
        s.add(_entry(event, actor))
        # Kept in step for readers of the older columns.
        row.revoked, row.revoked_reason = True, event.reason
        s.commit()
    return event


def correct(
    tool: Any,
    cert_id: str,
    changes: dict[str, str],
    reason: str,
    *,
    now: datetime,
    actor: str,
    registration_id: int | None = None,
) -> cert.SignedRecord:
    """Correct a certificate (e.g. a legal-name typo): a new signed record supersedes the old, which stays.

    The learner's own copy moves to the new record, so their next download is the corrected PDF.
    """
    from .learning import certificate_signing_key, render_pdf  # noqa: PLC0415

    changes = {k: v for k, v in changes.items() if v is not None and str(v).strip() != ""}
    bad = sorted(set(changes) - set(CORRECTABLE))
    if bad:
        raise RecordsError(f"A correction here cannot change {', '.join(bad)}; it can change {', '.join(CORRECTABLE)}.")
    with tool.sessions() as s:
        row, signed = _load_current(s, cert_id, registration_id)
        changes = {k: v for k, v in changes.items() if getattr(signed.record, k) != v}
        if not changes:
            raise RecordsError(
                f"The correction of {signed.certificate_id} changes nothing. Type the corrected value in a field."
            )
        new_id = _fresh_id(s)
        try:
            new, event = cert.supersede(
                signed,
                changes=changes,
                reason=reason,
                certificate_id=new_id,
                issued_at=now,
                private_key=certificate_signing_key(tool),
            )
        except ValueError as err:
            raise RecordsError(str(err)) from err
        data = new.to_dict()
        s.add(
            IssuedCertificate(
                cert_id=new.certificate_id, learner_pk=row.learner_pk, record=data, pdf=render_pdf(tool, new)
            )
        )
        s.add(_entry(event, actor))
        learner = s.get(LearnerRecord, row.learner_pk) if row.learner_pk else None
        if learner is not None and (learner.state.get("certificate") or {}).get("id") == signed.certificate_id:
            state = dict(learner.state)
            state["certificate"] = {
                **state["certificate"],
                "id": new.certificate_id,
                "issued_at": data["record"]["issued_at"],
                "signed": data,
            }
            details = dict(state.get("details") or {})
            details.update({k: v for k, v in changes.items() if k in details})
            state["details"] = details
            learner.state = state
            learner.revision = (learner.revision or 0) + 1
        s.commit()
    return new


def _fresh_id(s: Any) -> str:
    for _ in range(20):
        cid = cert.new_certificate_id(os.urandom(5))
        if s.get(IssuedCertificate, cid) is None:
            return cid
    raise RecordsError("Could not draw an unused certificate id; try again.")  # 2^35 ids: never in practice


def _entry(event: cert.StatusEvent, actor: str) -> CertificateStatusEntry:
    return CertificateStatusEntry(
        cert_id=event.certificate_id,
        status=event.status.value,
        reason=event.reason,
        at=event.at,
        replacement_id=event.replacement_id,
        actor=actor[:500],
    )


def history(tool: Any, registration_id: int | None = None, limit: int = 50) -> list[CertificateStatusEntry]:
    """The latest status-log entries (for the instructor screen), newest first."""
    with tool.sessions() as s:
        q = select(CertificateStatusEntry).order_by(CertificateStatusEntry.at.desc(), CertificateStatusEntry.id.desc())
        if registration_id is not None:
            q = (
                q.join(IssuedCertificate, IssuedCertificate.cert_id == CertificateStatusEntry.cert_id)
                .join(LearnerRecord, LearnerRecord.id == IssuedCertificate.learner_pk)
                .where(LearnerRecord.registration_id == registration_id)
            )
        return list(s.scalars(q.limit(limit)))


# --- retention ----------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    before: date
    years: int
    dry_run: bool
    certificate_ids: list[str] = field(default_factory=list)
    status_entries: int = 0
    learner_records: int = 0


def purge(tool: Any, *, before: date, years: int, today: date, dry_run: bool = False) -> PurgeReport:
    """Remove only what is past retention: certificates completed more than `years` before `before`,
    their status-log entries, and learner records last changed before that which hold no kept certificate."""
    if before > today:
        raise RecordsError(f"--before {before} is in the future. Use today's date ({today}) or earlier.")
    if years < 0:
        raise RecordsError(f"The retention period must be 0 or more years, not {years}.")
    report = PurgeReport(before, years, dry_run)
    report.certificate_ids = sorted(
        r.certificate_id for r in rec_mod.past_retention(iter_signed(tool.sessions), before, years)
    )
    doomed = set(report.certificate_ids)
    try:
        last_day = before.replace(year=before.year - years)
    except ValueError:  # 29 February
        last_day = before.replace(year=before.year - years, day=28)
    with tool.sessions() as s:
        kept_learners = {
            pk
            for cid, pk in s.execute(select(IssuedCertificate.cert_id, IssuedCertificate.learner_pk))
            if pk is not None and cid not in doomed
        }
        old_learners = [
            pk
            for pk, updated in s.execute(select(LearnerRecord.id, LearnerRecord.updated_at))
            if updated.date() < last_day and pk not in kept_learners
        ]
        report.learner_records = len(old_learners)
        ids = report.certificate_ids
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            report.status_entries += len(
                s.scalars(select(CertificateStatusEntry.id).where(CertificateStatusEntry.cert_id.in_(chunk))).all()
            )
            if not dry_run:
                s.execute(delete(CertificateStatusEntry).where(CertificateStatusEntry.cert_id.in_(chunk)))
                s.execute(delete(IssuedCertificate).where(IssuedCertificate.cert_id.in_(chunk)))
        if not dry_run:
            for i in range(0, len(old_learners), BATCH):
                s.execute(delete(LearnerRecord).where(LearnerRecord.id.in_(old_learners[i : i + BATCH])))
            s.commit()
    return report


def link_pks(tool: Any, *, registration_id: int, resource_link_pk: int | None, activity_slug: str) -> list[int]:
    """The resource links a report covers: one link, or every link of the activity on this platform."""
    if resource_link_pk is not None:
        return [resource_link_pk]
    with tool.sessions() as s:
        return list(
            s.scalars(
                select(ResourceLink.id).where(
                    ResourceLink.registration_id == registration_id, ResourceLink.activity_slug == activity_slug
                )
            )
        )
