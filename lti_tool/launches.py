"""What the tool keeps from a validated launch: the resource link row and a launch context in the cache.

The launch context is what later requests (`/lti/api/<launch_id>`, instructor pages) act on. It is
keyed by an unguessable launch id that the page carries, not by a cookie, so it works in
cross-site iframes where cookies are blocked, and it sits in the shared cache so any worker can
serve the next request.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .accommodations import learner_columns
from .lti.adapter import LaunchResult
from .prepared import Prepared
from .store import ResourceLink

LAUNCH_TTL = 8 * 3600
ACTIVITY_PARAM = "ce_activity"  # the custom parameter deep linking sets to name the activity


class LaunchExpired(LookupError):
    pass


@lru_cache(maxsize=1024)
def negotiate_locale(claimed: str | None = None, accept_language: str | None = None) -> str:
    """`locale.negotiate` for the tool's requests, memoised: every login, launch and API call asks,
    and negotiating lists the catalogue folders each time. The catalogues ship with the code, so
    the answer for a given claim and header changes only with a new release (a restart)."""
    from ce_xblock.core.locale import negotiate

    return negotiate(claimed, accept_language=accept_language)


@dataclass
class LaunchContext:
    launch_id: str
    registration_id: int
    deployment_id: str
    message_type: str
    sub: str
    name: str = ""
    email: str = ""
    roles: list[str] = field(default_factory=list)
    is_instructor: bool = False
    resource_link_id: str = ""
    resource_link_pk: int | None = None
    resource_link_title: str = ""
    context_id: str = ""
    context_title: str = ""
    activity_slug: str = ""
    lineitem_url: str = ""
    lineitems_url: str = ""
    ags_scopes: list[str] = field(default_factory=list)
    nrps_url: str = ""
    deep_linking_settings: dict[str, Any] = field(default_factory=dict)
    locale: str = "en"
    # An instructor's "Preview as a learner": own state, no grade passback, not in the report.
    preview: bool = False

    def to_dict(self) -> dict[str, Any]:
        # asdict() deep-copies field by field through a generic walk: 5x the cost of this, on
        # every launch. The fields are str, int, bool, lists of str and a dict of JSON values.
        d = {name: getattr(self, name) for name in _FIELDS}
        d["roles"] = list(self.roles)
        d["ags_scopes"] = list(self.ags_scopes)
        d["deep_linking_settings"] = copy.deepcopy(self.deep_linking_settings) if self.deep_linking_settings else {}
        return d


_FIELDS = tuple(f.name for f in fields(LaunchContext))


def context_from(result: LaunchResult) -> LaunchContext:
    c = result.claims
    rl = result.resource_link
    ctx = result.context
    name = c.get("name") or " ".join(x for x in (c.get("given_name"), c.get("family_name")) if x)
    from flask import has_request_context, request

    claimed = (c.get("https://purl.imsglobal.org/spec/lti/claim/launch_presentation") or {}).get("locale")
    browser = request.headers.get("Accept-Language") if has_request_context() else None
    if claimed is None or isinstance(claimed, str):
        locale = negotiate_locale(claimed, browser)
    else:  # not a string (a list of tags, say): not memoisable, and rare
        from ce_xblock.core.locale import negotiate

        locale = negotiate(claimed, accept_language=browser)
    return LaunchContext(
        launch_id=secrets.token_urlsafe(24),
        registration_id=result.platform.id,
        deployment_id=result.deployment_id,
        message_type=result.message_type,
        sub=str(c.get("sub", "")),
        name=name or "",
        email=c.get("email", "") or "",
        roles=result.roles,
        is_instructor=result.is_instructor,
        resource_link_id=str(rl.get("id", "")),
        resource_link_title=rl.get("title", "") or "",
        context_id=str(ctx.get("id", "")),
        context_title=ctx.get("title", "") or ctx.get("label", "") or "",
        activity_slug=result.custom.get(ACTIVITY_PARAM, ""),
        lineitem_url=result.ags.get("lineitem", "") or "",
        lineitems_url=result.ags.get("lineitems", "") or "",
        ags_scopes=list(result.ags.get("scope", []) or []),
        nrps_url=result.nrps.get("context_memberships_url", "") or "",
        deep_linking_settings=result.deep_linking_settings,
        locale=str(locale),
    )


_LINK_COLUMNS = (
    "id",
    "deployment_id",
    "context_id",
    "context_title",
    "title",
    "nrps_url",
    "lineitems_url",
    "ags_scopes",
    "lineitem_url",
    "activity_slug",
)


_links = ResourceLink.__table__
# Built once: building the statement costs more than running it. The launching user's stored
# state and accommodation come in the same SELECT (NULL when they have none), for the learner
# page the launch answers with: one round trip where there were two.
_LINK_OF = Prepared(
    select(*(_links.c[name] for name in _LINK_COLUMNS), *learner_columns(_links.c.id, bindparam("sub"))).where(
        _links.c.registration_id == bindparam("reg"), _links.c.resource_link_id == bindparam("link")
    )
)


@dataclass(frozen=True)
class ResolvedLink:
    id: int
    activity_slug: str
    lineitem_url: str
    # The launching user's (stored state, extra attempts, extra minutes), read with the link; None
    # when the link was created or changed by this launch (the learner page then reads them).
    learner: tuple[Any, Any, Any] | None = None


def resolve_resource_link(engine: Engine, sessions: sessionmaker, lc: LaunchContext) -> ResolvedLink:
    """The launch's resource link, created or refreshed.

    Every launch comes through here. The usual case, a known link whose row already says what the
    launch says, costs one Core SELECT and no write; otherwise the ORM upsert below runs.
    """
    with engine.connect() as c:
        found = _LINK_OF.first(c, {"reg": lc.registration_id, "link": lc.resource_link_id, "sub": lc.sub})
    if found is not None:
        current = found._asdict()
        unchanged = all(current[k] == v for k, v in _wanted(current, lc).items())
        if unchanged and _same(current, lc):
            learner = (current["learner_state"], current["extra_attempts"], current["extra_minutes"])
            return ResolvedLink(current["id"], current["activity_slug"], current["lineitem_url"], learner)
    with sessions() as session:
        row = upsert_resource_link(session, lc)
        return ResolvedLink(row.id, row.activity_slug, row.lineitem_url)


def _same(current: Any, lc: LaunchContext) -> bool:
    # ags_scopes is a list (unhashable): compared apart from the other columns.
    return list(current["ags_scopes"] or []) == list(lc.ags_scopes or current["ags_scopes"] or [])


def upsert_resource_link(session: Session, lc: LaunchContext) -> ResourceLink:
    """Create or refresh the resource link row; writes only when something changed."""
    q = select(ResourceLink).where(
        ResourceLink.registration_id == lc.registration_id, ResourceLink.resource_link_id == lc.resource_link_id
    )
    row = session.scalars(q).first()
    if row is None:
        row = ResourceLink(registration_id=lc.registration_id, resource_link_id=lc.resource_link_id)
        try:
            with session.begin_nested():
                session.add(row)
                _apply(row, lc)
            session.commit()
            return row
        except IntegrityError:
            session.rollback()
            row = session.scalars(q).one()
    if _apply(row, lc):
        session.commit()
    return row


def _wanted(row: Any, lc: LaunchContext) -> dict[str, Any]:
    """The hashable column values the launch asks for (ags_scopes apart), given the row's current ones."""
    wanted: dict[str, Any] = {
        "deployment_id": lc.deployment_id,
        "context_id": lc.context_id,
        "context_title": lc.context_title,
        "title": lc.resource_link_title or row["title"],
        "nrps_url": lc.nrps_url or row["nrps_url"],
        "lineitems_url": lc.lineitems_url or row["lineitems_url"],
    }
    # The platform's line item wins over one the tool found or created.
    if lc.lineitem_url:
        wanted["lineitem_url"] = lc.lineitem_url
    # The activity named by deep linking's custom parameter wins over an earlier choice.
    if lc.activity_slug:
        wanted["activity_slug"] = lc.activity_slug
    return wanted


def _apply(row: ResourceLink, lc: LaunchContext) -> bool:
    current = {k: getattr(row, k) for k in ("title", "nrps_url", "lineitems_url")}
    wanted = _wanted(current, lc)
    wanted["ags_scopes"] = lc.ags_scopes or row.ags_scopes or []
    changed = False
    for k, v in wanted.items():
        if getattr(row, k) != v:
            setattr(row, k, v)
            changed = True
    return changed


def use_locale(lc: LaunchContext) -> LaunchContext:
    """Make the launch's language the request's (g.locale), for templates and messages."""
    from flask import g, has_app_context

    if has_app_context() and lc.locale:
        g.locale = negotiate_locale(lc.locale)
    return lc


def save(cache: Any, lc: LaunchContext) -> None:
    cache.set("launch:" + lc.launch_id, lc.to_dict(), LAUNCH_TTL)


def load(cache: Any, launch_id: str) -> LaunchContext:
    data = cache.get("launch:" + launch_id) if launch_id else None
    if not data:
        raise LaunchExpired(launch_id)
    return use_locale(LaunchContext(**data))
