"""Accommodations in the LTI tool: extra post-test attempts and extra minutes for one learner.

An instructor gives them on the instructor page, per resource link and platform user
(`ce_accommodation`). Like the XBlock's `accommodations` field (ce_xblock/block.py), the granted
values are the truth: `lti_tool.learning` lays them over the learner's stored state each time it
is read, so the server enforces the extra attempts at once. Extra minutes mean what they mean in
the engine (`flow.LearnerState.extra_minutes`): shown to the learner ("+30 minutes") and added to
a timed post-test's limit (`attempts.deadline`), also for an attempt already under way; an untimed
post-test stays untimed. They never lengthen the wait between attempts nor shorten the
accreditor's minimum time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ce_xblock.core import flow
from ce_xblock.core.locale import translator

from .store import Accommodation, LearnerRecord

log = logging.getLogger("ce_credit.accommodations")

# The XBlock's bounds (ce_xblock.block.MAX_EXTRA_ATTEMPTS, MAX_EXTRA_MINUTES); a test keeps them equal.
MAX_EXTRA_ATTEMPTS = 20
MAX_EXTRA_MINUTES = 24 * 60
MAX_REASON = 500

_acc = Accommodation.__table__
_learners = LearnerRecord.__table__


def granted_columns(resource_link_pk: Any, user_sub: Any) -> tuple[Any, Any]:
    """Scalar subqueries for the granted extra attempts and minutes (NULL when none), labelled
    extra_attempts and extra_minutes, to read them in the same statement as the learner's state."""

    def col(c: Any) -> Any:
        return (
            select(c)
            .where(_acc.c.resource_link_pk == resource_link_pk, _acc.c.user_sub == user_sub)
            .scalar_subquery()
            .label(c.name)
        )

    return col(_acc.c.extra_attempts), col(_acc.c.extra_minutes)


def learner_columns(resource_link_pk: Any, user_sub: Any) -> tuple[Any, Any, Any]:
    """The learner's stored state (labelled learner_state) and the granted_columns: what a learner
    page needs of the database, as scalar subqueries for one SELECT (NULL where there is none)."""
    state = (
        select(_learners.c.state)
        .where(_learners.c.resource_link_pk == resource_link_pk, _learners.c.user_sub == user_sub)
        .scalar_subquery()
        .label("learner_state")
    )
    return (state, *granted_columns(resource_link_pk, user_sub))


def granted(session: Any, resource_link_pk: int | None, user_sub: str) -> tuple[int, int]:
    """(extra_attempts, extra_minutes) given to this learner in this link; (0, 0) when none."""
    row = session.execute(
        select(_acc.c.extra_attempts, _acc.c.extra_minutes).where(
            _acc.c.resource_link_pk == resource_link_pk, _acc.c.user_sub == user_sub
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def overlay(state: flow.LearnerState, extra_attempts: Any, extra_minutes: Any) -> flow.LearnerState:
    """The state with the granted accommodation, whatever an older stored state says (as block.py)."""
    return replace(state, extra_attempts=int(extra_attempts or 0), extra_minutes=int(extra_minutes or 0))


def for_link(tool: Any, resource_link_pk: int | None) -> list[Accommodation]:
    with tool.sessions() as s:
        return list(
            s.scalars(
                select(Accommodation)
                .where(Accommodation.resource_link_pk == resource_link_pk)
                .order_by(Accommodation.learner_name, Accommodation.user_sub)
            )
        )


@dataclass
class Request:
    """A validated grant (0 and 0: remove)."""

    user_sub: str
    learner_name: str
    extra_attempts: int
    extra_minutes: int
    reason: str

    @property
    def removes(self) -> bool:
        return self.extra_attempts == 0 and self.extra_minutes == 0


def parse(
    form: Mapping[str, Any], learners: Mapping[str, str], locale: str | None
) -> tuple[Request | None, dict[str, str]]:
    """Validate the instructor's form: (the request, {}) or (None, {field: message naming the field}).

    `learners` maps the platform user ids one may choose (those who opened the activity, the NRPS
    roster, and anyone who has an accommodation here) to their names. `action=remove` removes.
    """
    _ = translator(locale).gettext
    errors: dict[str, str] = {}
    sub = str(form.get("learner") or "").strip()
    if sub not in learners:
        if not sub:
            errors["learner"] = _("Learner: choose a learner from the list.")
        else:
            errors["learner"] = _(
                "Learner: {value!r} has not opened this activity and is not in the course roster. "
                "Choose a learner from the list."
            ).format(value=sub[:100])
    remove = form.get("action") == "remove"
    values: dict[str, int] = {}
    for name, top, label in (
        ("extra_attempts", MAX_EXTRA_ATTEMPTS, _("Extra attempts")),
        ("extra_minutes", MAX_EXTRA_MINUTES, _("Extra minutes")),
    ):
        if remove:
            values[name] = 0
            continue
        raw = str(form.get(name) or "").strip()
        try:
            value = int(raw or "0")
        except ValueError:
            value = -1
        if not 0 <= value <= top:
            errors[name] = _("{label} must be a whole number from 0 to {top}, not {value!r}.").format(
                label=label, top=top, value=raw[:100]
            )
        values[name] = value
    reason = "" if remove else str(form.get("reason") or "").strip()
    if len(reason) > MAX_REASON:
        errors["reason"] = _("Reason: at most {top} characters, not {n}.").format(top=MAX_REASON, n=len(reason))
    if errors:
        return None, errors
    return Request(sub, learners[sub], values["extra_attempts"], values["extra_minutes"], reason), {}


def save(tool: Any, lc: Any, req: Request, now: datetime) -> Accommodation | None:
    """Store the grant for this link (replacing any earlier one), or remove it for 0 and 0."""
    where = (Accommodation.resource_link_pk == lc.resource_link_pk, Accommodation.user_sub == req.user_sub)
    with tool.sessions() as s:
        if req.removes:
            s.execute(delete(Accommodation).where(*where))
            s.commit()
            log.info("accommodation removed: link %s, user %s, by %s", lc.resource_link_pk, req.user_sub, lc.sub)
            return None
        for _ in range(2):  # a concurrent first grant for the same learner: the second one updates it
            row = s.scalars(select(Accommodation).where(*where)).first()
            if row is None:
                row = Accommodation(
                    registration_id=lc.registration_id, resource_link_pk=lc.resource_link_pk, user_sub=req.user_sub
                )
                s.add(row)
            row.learner_name = req.learner_name[:500]
            row.extra_attempts, row.extra_minutes, row.reason = req.extra_attempts, req.extra_minutes, req.reason
            row.granted_by, row.granted_at = (lc.name or lc.sub)[:500], now
            try:
                s.commit()
                break
            except IntegrityError:
                s.rollback()
        log.info(
            "accommodation: link %s, user %s: +%s attempts, +%s minutes, by %s",
            lc.resource_link_pk,
            req.user_sub,
            req.extra_attempts,
            req.extra_minutes,
            lc.sub,
        )
        return row
