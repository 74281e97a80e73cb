"""SQLAlchemy 2 models and sessions for the LTI tool: registrations, keys, launches, learners, outbox."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.sql import Select

from . import jsonio


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Registration(Base):
    """One platform registration: an (issuer, client_id) pair and the platform's endpoints."""

    __tablename__ = "lti_registration"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_registration_issuer_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[str] = mapped_column(String(1000), default="")
    keyset_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", order_by="Deployment.id"
    )


class Deployment(Base):
    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id", name="uq_deployment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    # True when recorded from a launch rather than registered by an administrator.
    auto_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    registration: Mapped[Registration] = relationship(back_populates="deployments")


class ToolKey(Base):
    """A key of the tool. Every `published` key is in the JWKS; `current` signs.

    For "lti" keys `current` only marks the newest one: which key signs is worked out from
    `signs_from` and the clock (publish first, sign later; see lti_tool/keys.py).
    """

    __tablename__ = "lti_tool_key"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    # "lti": RSA keys for LTI messages and service tokens; "certificate": Ed25519 certificate signing.
    purpose: Mapped[str] = mapped_column(String(20), default="lti", index=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When an "lti" key starts signing; None (rows from before 0005): from created_at.
    signs_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=None)


class CacheEntry(Base):
    """The database fallback for the launch-data and nonce cache (Redis when REDIS_URL is set)."""

    __tablename__ = "lti_cache"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


# The owner of the activities every platform's instructors may choose but not change: those the
# tool's administrator imports (`ce-credit library import`) and the demo's examples.
SHARED_LIBRARY = 0


class StoredActivity(Base):
    """An activity in the tool's library, kept as its canonical OLX.

    `owner_id` is the registration whose instructors imported or edited it, or SHARED_LIBRARY. A
    platform's instructors see the shared library and their own activities, never another
    platform's; saving an activity with a shared activity's id makes their own copy, which their
    links use from then on, and leaves the shared one as it was for everyone else.
    """

    __tablename__ = "ce_activity"
    __table_args__ = (UniqueConstraint("owner_id", "slug", name="uq_activity_owner_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: an activity outlives the registration (its records are kept for years).
    owner_id: Mapped[int] = mapped_column(Integer, default=SHARED_LIBRARY, server_default="0")
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    version: Mapped[str] = mapped_column(String(50), default="1")
    olx: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ResourceLink(Base):
    """A placement of an activity in a platform course, and where its grades go."""

    __tablename__ = "lti_resource_link"
    __table_args__ = (UniqueConstraint("registration_id", "resource_link_id", name="uq_resource_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255), default="")
    resource_link_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255), default="")
    context_title: Mapped[str] = mapped_column(String(500), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    activity_slug: Mapped[str] = mapped_column(String(64), default="")
    lineitem_url: Mapped[str] = mapped_column(String(1000), default="")
    # Who is finding or creating the line item, until when: one worker at a time may POST one.
    lineitem_claim_owner: Mapped[str] = mapped_column(String(64), server_default="")
    lineitem_claim_until: Mapped[float] = mapped_column(Float, server_default="0")
    lineitems_url: Mapped[str] = mapped_column(String(1000), default="")
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    nrps_url: Mapped[str] = mapped_column(String(1000), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class LearnerRecord(Base):
    """One learner's state in one resource link: flow.LearnerState.to_dict() plus who they are."""

    __tablename__ = "ce_learner"
    __table_args__ = (UniqueConstraint("resource_link_pk", "user_sub", name="uq_learner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id", ondelete="CASCADE"))
    resource_link_pk: Mapped[int] = mapped_column(ForeignKey("lti_resource_link.id", ondelete="CASCADE"), index=True)
    user_sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Optimistic concurrency: two workers saving the same learner cannot silently overwrite.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Accommodation(Base):
    """Extra post-test attempts and extra minutes an instructor gave one learner in one resource link.

    The truth for the learner's extra_attempts / extra_minutes: laid over the stored state each time
    it is read (lti_tool.learning), as the XBlock does with its `accommodations` field.
    """

    __tablename__ = "ce_accommodation"
    __table_args__ = (UniqueConstraint("resource_link_pk", "user_sub", name="uq_accommodation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id", ondelete="CASCADE"))
    resource_link_pk: Mapped[int] = mapped_column(ForeignKey("lti_resource_link.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(255))
    learner_name: Mapped[str] = mapped_column(String(500), default="")  # as shown when it was granted
    extra_attempts: Mapped[int] = mapped_column(Integer, default=0)
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    granted_by: Mapped[str] = mapped_column(String(500), default="")  # the instructor's name or platform id
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IssuedCertificate(Base):
    """A certificate issued through the tool, for public verification at /verify/<cert_id>."""

    __tablename__ = "ce_certificate"

    cert_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    learner_pk: Mapped[int | None] = mapped_column(ForeignKey("ce_learner.id", ondelete="SET NULL"), nullable=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The PDF as issued (rendered once, served on every download); None for rows from before 0004,
    # rendered and stored on their first download.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CertificateStatusEntry(Base):
    """The certificate status log: each revocation or correction, with its reason (the record stays)."""

    __tablename__ = "ce_certificate_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cert_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))  # "revoked" | "superseded"
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    replacement_id: Mapped[str] = mapped_column(String(100), default="")
    actor: Mapped[str] = mapped_column(String(500), default="")  # who did it: an instructor or "cli"


class OutboxScore(Base):
    """A score waiting to reach the platform's gradebook (AGS). Rows are claimed with a lease."""

    __tablename__ = "lti_outbox"
    # A learner's scores in a link: every scored submit supersedes that learner's unsent ones, and
    # with the link alone as the key that was a scan of every score of the link (migration 0009).
    __table_args__ = (Index("ix_lti_outbox_learner", "resource_link_pk", "user_sub", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id", ondelete="CASCADE"))
    resource_link_pk: Mapped[int] = mapped_column(ForeignKey("lti_resource_link.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(50))
    grading_progress: Mapped[str] = mapped_column(String(50), default="FullyGraded")
    comment: Mapped[str] = mapped_column(Text, default="")
    # The score's own timestamp (ISO 8601 with offset): resends carry the same one.
    timestamp: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|sent|failed|superseded
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    # When a worker last began to send this row (0: never). Set, on a pending row, it means an
    # earlier send's outcome is unknown: the platform may hold the score already (lti_tool.outbox).
    send_started_at: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="")
    # The kind of the last failure (lti_tool.outbox.PROBLEMS; "" after a success): the report
    # explains it in the instructor's language, and shows last_error as the technical detail.
    last_problem: Mapped[str] = mapped_column(String(20), default="", server_default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so several workers can share it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **_JSON_COLUMNS)
        if on_disk:
            WriterQueue(os.path.abspath(path) + ".writers").attach(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver installed here; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # No pre-ping: it costs a round trip per request. Connections are recycled instead, and a
    # dropped one fails a single request rather than every request after it.
    return create_engine(url, pool_size=5, max_overflow=10, pool_recycle=300, **_JSON_COLUMNS)


# JSON columns (the learner state, written on every submit) through orjson (lti_tool.jsonio).
_JSON_COLUMNS = {"json_serializer": jsonio.dumps, "json_deserializer": jsonio.loads}


class WriterQueue:
    """SQLite writers on one host take turns in a queue instead of in SQLite's busy handler.

    SQLite lets one writer in at a time; the others sleep in its busy handler in steps of 1, 2, 5,
    10, 15, 20 ... ms, however soon the lock is free again. Here a connection about to write first
    takes an exclusive `flock` on a file beside the database (and, within a process, a thread
    lock), and gives it back at its commit or rollback: the next writer wakes as soon as the lock
    is free. Readers, DDL and other programs still meet SQLite's own locking, so correctness never
    depends on this queue; it only decides who goes next.
    """

    TIMEOUT = 30.0  # seconds, as SQLite's busy timeout; then an error instead of a hang

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = -1
        self._fd = -1
        self._holder: Any = None  # the DBAPI connection of this process that holds the turn
        self._thread_lock = threading.Lock()
        self._setup = threading.Lock()

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        # A write transaction ends in the dialect's commit or rollback; the turn ends with it.
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._then_release(getattr(dialect, name)))
        # Backstops: a connection that goes back to the pool or is thrown away gives its turn back.
        event.listen(engine.pool, "checkin", lambda dbapi_conn, _record: self._release(dbapi_conn))
        event.listen(engine.pool, "invalidate", lambda dbapi_conn, _record, _exc: self._release(dbapi_conn))

    def _then_release(self, end: Any) -> Any:
        def ended(dbapi_conn: Any) -> None:
            try:
                end(dbapi_conn)
            finally:
                self._release(dbapi_conn)

        return ended

    def _lock_file(self) -> int:
        # A forked worker opens the file again: flock belongs to the open file, which a fork shares.
        with self._setup:
            if self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._pid = os.getpid()
                self._holder = None
                self._thread_lock = threading.Lock()
            return self._fd

    def _before_execute(self, _conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_conn = cursor.connection
        if self._holder is dbapi_conn or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        fd = self._lock_file()
        if not self._thread_lock.acquire(timeout=self.TIMEOUT):
            raise TimeoutError(f"no turn to write to the database in {self.TIMEOUT:.0f} s (queue {self.path})")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._holder = dbapi_conn

    def _release(self, dbapi_conn: Any) -> None:
        dbapi_conn = getattr(dbapi_conn, "dbapi_connection", dbapi_conn)  # the pool's proxy, or the connection
        if self._holder is not dbapi_conn or self._pid != os.getpid():
            return
        self._holder = None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def epoch() -> float:
    return time.time()


def visible_to(owner: int) -> Any:
    """The activities registration `owner`'s instructors may see: the shared library and their own."""
    return StoredActivity.owner_id.in_({owner, SHARED_LIBRARY})


def activity_query(slug: str, owner: int, *columns: Any) -> Select:
    """`columns` (default: the row) of the activity `owner` means by `slug`: its own copy, else the shared one."""
    return (
        select(*(columns or (StoredActivity,)))
        .where(StoredActivity.slug == slug, visible_to(owner))
        .order_by(StoredActivity.owner_id.desc())
        .limit(1)
    )


def activity_row(session: Session, slug: str, owner: int) -> StoredActivity | None:
    """The activity `owner`'s instructors mean by `slug`: their own copy, else the shared library's."""
    return session.scalars(activity_query(slug, owner)).first()
