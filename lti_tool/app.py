"""The Flask application factory of the LTI tool and the per-app services it wires together."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from flask.sessions import SessionInterface
from sqlalchemy import select
from sqlalchemy.orm import Session

from ce_xblock.core.locale import N_

from . import config as config_mod
from . import registry
from .cache import Cache, DatabaseCache, FileCache, RedisCache, file_cache_dir
from .jsonio import JSONProvider
from .keys import KeyRing
from .lti.adapter import LtiAdapter, PlatformConfig
from .store import Registration, make_engine, make_sessionmaker

HERE = os.path.dirname(os.path.abspath(__file__))
# The shared learner front end: the repository's static/, shipped in wheels as ce_xblock/static.
STATIC_DIR = os.path.join(os.path.dirname(HERE), "ce_xblock", "static")

# The error page's text for Flask's own HTTP errors (Werkzeug's descriptions are English only).
HTTP_ERROR_MESSAGES = {
    401: N_("This page's session has expired. Open the activity again from your course."),
    403: N_("You are not allowed to open this page."),
    404: N_("This page does not exist. Open the activity again from your course."),
    405: N_("This address cannot be opened directly. Open the activity from your course."),
}
HTTP_ERROR = N_("Something went wrong. Open the activity again from your course.")


def certificate_layout(cfg: dict[str, Any]) -> dict[str, Any]:
    """The certificate PDF options (page size, logo, signature image), checked at start-up so that a
    wrong setting stops the tool with the variable named rather than failing the first certificate."""
    from ce_xblock.core import pdf

    try:
        return pdf.layout_options(
            cfg.get("CERTIFICATE_PAGE_SIZE"), cfg.get("CERTIFICATE_LOGO"), cfg.get("CERTIFICATE_SIGNATURE")
        )
    except ValueError as e:
        raise ValueError(
            f"{e} (Settings: CE_CREDIT_CERTIFICATE_PAGE_SIZE, CE_CREDIT_CERTIFICATE_LOGO, "
            "CE_CREDIT_CERTIFICATE_SIGNATURE.)"
        ) from e


class Tool:
    """Everything a request needs besides Flask: database sessions, the shared cache, keys, LTI."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.config = cfg
        self.certificate_layout = certificate_layout(cfg)
        self.engine = make_engine(cfg["DATABASE_URL"])
        # Single-statement reads (every launch and action) on PostgreSQL skip BEGIN and ROLLBACK,
        # two round trips each; SQLite's driver begins no transaction for a SELECT anyway.
        self.reader = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        self.sessions = make_sessionmaker(self.engine)
        self.cache: Cache = make_cache(cfg, self.sessions)
        self.keyring = KeyRing(self.sessions)
        self.adapter = LtiAdapter(
            cache=self.cache,
            keyring=self.keyring,
            find_platform=self._find_platform,
            on_deployment=self._on_deployment,
            clock_skew=cfg["LTI_CLOCK_SKEW"],
            secure_cookies=cfg["SECURE_COOKIES"],
        )
        self.outbox_thread: Any = None
        self._known_deployments: set[tuple[int, str]] = set()

    def _find_platform(self, issuer: str, client_id: str | None) -> PlatformConfig | None:
        with self.sessions() as s:
            reg = registry.find_registration(s, issuer, client_id)
            return platform_config(reg) if reg else None

    def _on_deployment(self, platform: PlatformConfig, deployment_id: str) -> None:
        # This runs on every launch. Deployments are never renamed, only added or removed with
        # their registration, so a worker may remember the ones it has seen (per registration id).
        ck = (platform.id, deployment_id)
        if ck in self._known_deployments:
            return
        with self.sessions() as s:
            reg = s.get(Registration, platform.id)
            if reg is None:
                raise ValueError("the registration was removed during the launch")
            registry.find_or_record_deployment(s, reg, deployment_id)
        if len(self._known_deployments) > 10000:
            self._known_deployments.clear()
        self._known_deployments.add(ck)

    def platform(self, registration_id: int) -> PlatformConfig | None:
        with self.sessions() as s:
            reg = s.get(Registration, registration_id)
            return platform_config(reg) if reg else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s:
            yield s


def make_cache(cfg: dict[str, Any], sessions: Any) -> Cache:
    """Redis when REDIS_URL is set; files on the embedded SQLite default (one host: in memory or
    the instance folder, see cache.file_cache_dir); the database otherwise (PostgreSQL without
    Redis: several hosts share it)."""
    if cfg["REDIS_URL"]:
        return RedisCache(cfg["REDIS_URL"], cfg["REDIS_PREFIX"])
    backend = cfg.get("CACHE") or ("files" if cfg["DATABASE_URL"].startswith("sqlite") else "database")
    if backend == "files":
        return FileCache(file_cache_dir(cfg["INSTANCE_PATH"], cfg.get("CACHE_DIR", "")))
    return DatabaseCache(sessions)


def platform_config(reg: Registration) -> PlatformConfig:
    return PlatformConfig(
        id=reg.id,
        issuer=reg.issuer,
        client_id=reg.client_id,
        auth_login_url=reg.auth_login_url,
        auth_token_url=reg.auth_token_url,
        keyset_url=reg.keyset_url,
        auth_audience=reg.auth_audience or "",
    )


class ToolFlask(Flask):
    """Flask with `ensure_sync` remembered per function: Flask asks it for every view, before- and
    after-request function and teardown of every request (an `inspect` call each time), and the
    tool's functions are all plain `def`s that never change. Its JSON is orjson's (jsonio)."""

    json_provider_class = JSONProvider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        try:
            return self._sync[func]
        except KeyError:
            pass
        except TypeError:  # not hashable: ask Flask each time
            return super().ensure_sync(func)
        wrapped = super().ensure_sync(func)
        if len(self._sync) < 1024:  # after_this_request closures are new each time: not kept forever
            self._sync[func] = wrapped
        return wrapped


class NoSessions(SessionInterface):
    """The tool keeps no Flask session: the OIDC state is a cookie of its own plus the shared
    cache, and a learner page carries its launch id. Flask's cookie session would build a signing
    serializer on every request (~40 µs) to find no cookie. `flask.session` is a read-only empty
    NullSession; writing to it raises."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the tool. `config` overrides the environment (see lti_tool.config and docs/lti.md)."""
    cfg = config_mod.load(config)
    app = ToolFlask(
        "lti_tool",
        instance_path=cfg["INSTANCE_PATH"],
        static_folder=STATIC_DIR,
        static_url_path="/static",
        template_folder=os.path.join(HERE, "templates"),
    )
    app.config.update(cfg)
    # The learner API answers with views of 10-15 KB; sorting their keys costs time and buys nothing.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.session_interface = NoSessions()
    if cfg["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]

    tool = Tool(cfg)
    app.extensions["ce_credit"] = tool
    if cfg["AUTO_MIGRATE"]:
        from .migrate import upgrade

        with tool.engine.begin() as conn:
            upgrade(cfg["DATABASE_URL"], conn)

    # i18n: templates use `{{ _("...") }}`, translated into g.locale, which a launch sets from its
    # `locale` claim; any other page negotiates it from the browser's Accept-Language.
    from ce_xblock.core import locale as locale_mod

    locale_mod.install_jinja(app.jinja_env, lambda: g.get("locale"))

    @app.before_request
    def _negotiate_locale() -> None:
        from flask import request

        from .launches import negotiate_locale

        g.locale = negotiate_locale(None, request.headers.get("Accept-Language"))

    @app.context_processor
    def _locale_globals() -> dict[str, Any]:
        lang = g.get("locale") or "en"
        return {"locale": lang, "direction": locale_mod.text_direction(lang)}

    from .views import ags, instructor, learner, lti, verify

    app.register_blueprint(lti.bp)
    app.register_blueprint(learner.bp)
    app.register_blueprint(instructor.bp)
    app.register_blueprint(verify.bp)
    app.register_blueprint(ags.bp)

    from flask import send_from_directory

    tool_static = os.path.join(HERE, "static")
    app.add_url_rule(
        "/lti/assets/<path:filename>",
        endpoint="lti_static",
        view_func=lambda filename: send_from_directory(tool_static, filename, max_age=3600),
    )

    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Any:
        # JSON for the learner API, a page that says what to do everywhere else.
        from flask import jsonify, render_template, request

        if request.path.startswith(("/lti/api/", "/lti/ags/")):
            return jsonify({"error": f"http-{err.code}", "message": err.description, "field": None}), err.code
        title = {401: "session-expired", 403: "forbidden", 404: "not-found", 405: "method"}.get(err.code or 0, "error")
        message = err.description
        if message == type(err).description:  # Werkzeug's own English text, not a message of ours
            message = locale_mod.translator(g.get("locale")).gettext(HTTP_ERROR_MESSAGES.get(err.code or 0, HTTP_ERROR))
        return render_template("error.html", code=title, message=message, fix="", retry_url=""), err.code

    @app.after_request
    def _headers(resp: Any) -> Any:
        # The tool runs inside LMS iframes: allow framing, but never leak launch ids in Referer.
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        s = g.pop("db", None)
        if s is not None:
            s.close()

    # Load every certificate font in the background now, so the first learner of a fresh worker
    # whose name is in Chinese or Korean does not wait ~150 ms for it (once per process).
    from ce_xblock.core import pdf as pdf_mod

    pdf_mod.warm_up_in_background()

    if cfg["OUTBOX_THREAD"]:
        from .outbox import start_thread

        tool.outbox_thread = start_thread(tool)
        atexit.register(tool.outbox_thread.stop)
    return app


def tool_of(app: Flask) -> Tool:
    return app.extensions["ce_credit"]


def db() -> Session:
    """The request's database session."""
    from flask import current_app

    if "db" not in g:
        g.db = tool_of(current_app).sessions()
    return g.db


def registrations(app: Flask) -> list[Registration]:
    with tool_of(app).sessions() as s:
        return list(s.scalars(select(Registration)))
