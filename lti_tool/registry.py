"""Platform registrations and deployments: add, list, remove, look up, record new deployments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from .store import Deployment, Registration


class RegistryError(ValueError):
    """A registration that cannot be stored, with what to change."""


def _session_of(app_or_session: Any) -> tuple[Session, bool]:
    if isinstance(app_or_session, Session):
        return app_or_session, False
    return app_or_session.extensions["ce_credit"].sessions(), True


def _check_url(field: str, value: str) -> None:
    parsed = urlparse(value or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise RegistryError(
            f"{field} {value!r} is not an http(s) URL. Copy the full URL from the platform's tool "
            f"registration page, e.g. https://lms.example.edu/mod/lti/auth.php."
        )


def add_platform(
    app_or_session: Any,
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    keyset_url: str,
    deployment_ids: Iterable[str] = (),
    name: str = "",
    auth_audience: str = "",
) -> Registration:
    """Register a platform (or add deployments to an existing registration of the same issuer and client id)."""
    if not issuer.strip():
        raise RegistryError("The issuer is empty. Use the platform's issuer, e.g. https://canvas.instructure.com.")
    if not client_id.strip():
        raise RegistryError("The client id is empty. Use the client id the platform gave the tool.")
    for field, value in (
        ("The auth login URL", auth_login_url),
        ("The auth token URL", auth_token_url),
        ("The keyset URL", keyset_url),
    ):
        _check_url(field, value)
    session, owned = _session_of(app_or_session)
    try:
        reg = session.scalars(
            select(Registration).where(Registration.issuer == issuer, Registration.client_id == client_id)
        ).first()
        if reg is None:
            reg = Registration(issuer=issuer, client_id=client_id)
            session.add(reg)
        reg.name = name or reg.name or urlparse(issuer).netloc or issuer
        reg.auth_login_url = auth_login_url
        reg.auth_token_url = auth_token_url
        reg.keyset_url = keyset_url
        reg.auth_audience = auth_audience
        known = {d.deployment_id for d in reg.deployments}
        for dep in deployment_ids:
            if dep and dep not in known:
                reg.deployments.append(Deployment(deployment_id=dep))
                known.add(dep)
        session.flush()
        if owned:
            session.commit()
        return reg
    finally:
        if owned:
            session.close()


def list_platforms(session: Session) -> list[Registration]:
    return list(
        session.scalars(select(Registration).options(selectinload(Registration.deployments)).order_by(Registration.id))
    )


def remove_platform(session: Session, registration_id: int) -> bool:
    reg = session.get(Registration, registration_id)
    if reg is None:
        return False
    session.delete(reg)
    session.commit()
    return True


def find_registration(session: Session, issuer: str, client_id: str | None) -> Registration | None:
    """The registration for an issuer and client id; without a client id, the issuer's only one."""
    q = select(Registration).where(Registration.issuer == issuer)
    if client_id:
        q = q.where(Registration.client_id == client_id)
    rows = session.scalars(q.limit(2)).all()
    if len(rows) == 1:
        return rows[0]
    return None


def find_or_record_deployment(session: Session, registration: Registration, deployment_id: str) -> Deployment:
    """The deployment, recorded now if this is the first launch from it.

    Called only after the launch's signature is verified against the registration's keys, so a
    new deployment id is trusted as much as the registration itself.
    """
    q = select(Deployment).where(
        Deployment.registration_id == registration.id, Deployment.deployment_id == deployment_id
    )
    dep = session.scalars(q).first()
    if dep is not None:
        return dep
    try:
        with session.begin_nested():
            dep = Deployment(registration_id=registration.id, deployment_id=deployment_id, auto_recorded=True)
            session.add(dep)
        session.commit()
    except IntegrityError:
        # Another worker recorded it first.
        session.rollback()
        dep = session.scalars(q).one()
    return dep
