"""The tool's configuration: defaults, then environment variables, then what create_app is given."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENV_VARS = {
    "DATABASE_URL": "DATABASE_URL",
    "REDIS_URL": "REDIS_URL",
    "CE_CREDIT_INSTANCE": "INSTANCE_PATH",
    "CE_CREDIT_SECRET_KEY": "SECRET_KEY",
    "CE_CREDIT_REDIS_PREFIX": "REDIS_PREFIX",
    "CE_CREDIT_CLOCK_SKEW": "LTI_CLOCK_SKEW",
    "CE_CREDIT_OUTBOX_THREAD": "OUTBOX_THREAD",
    "CE_CREDIT_AUTO_MIGRATE": "AUTO_MIGRATE",
    "CE_CREDIT_SECURE_COOKIES": "SECURE_COOKIES",
    "CE_CREDIT_PROXY_FIX": "PROXY_FIX",
    "CE_CREDIT_TOOL_TITLE": "TOOL_TITLE",
    "CE_CREDIT_PUBLIC_URL": "PUBLIC_URL",
    "CE_CREDIT_CACHE": "CACHE",
    "CE_CREDIT_CACHE_DIR": "CACHE_DIR",
    "CE_CREDIT_CERTIFICATE_PAGE_SIZE": "CERTIFICATE_PAGE_SIZE",
    "CE_CREDIT_CERTIFICATE_LOGO": "CERTIFICATE_LOGO",
    "CE_CREDIT_CERTIFICATE_SIGNATURE": "CERTIFICATE_SIGNATURE",
}

BOOLS = {"OUTBOX_THREAD", "AUTO_MIGRATE", "SECURE_COOKIES", "PROXY_FIX"}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults < environment < overrides. Relative paths are resolved against the instance folder."""
    cfg: dict[str, Any] = {
        "INSTANCE_PATH": os.path.abspath("instance"),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "REDIS_PREFIX": "ce-credit:",
        # Without Redis: "files" (the instance folder; SQLite default) or "database". Empty: choose.
        "CACHE": "",
        # The "files" cache's folder; empty: /dev/shm when it is large enough, else <instance>/cache.
        "CACHE_DIR": "",
        "SECRET_KEY": "",
        "LTI_CLOCK_SKEW": 60.0,
        # The embedded default sends grades from a thread in the web process; deployments with
        # `ce-credit worker` turn it off.
        "OUTBOX_THREAD": True,
        "OUTBOX_INTERVAL": 1.0,
        "AUTO_MIGRATE": True,
        "SECURE_COOKIES": True,
        "PROXY_FIX": False,
        "TOOL_TITLE": "CE Credit",
        # The base of certificate verification links; empty: the URL the request came in on.
        "PUBLIC_URL": "",
        # The certificate PDF: "letter" or "a4" (landscape), and the provider's logo and signature
        # image (PNG or JPEG file paths; empty: none). Each certificate's PDF is stored at issue.
        "CERTIFICATE_PAGE_SIZE": "letter",
        "CERTIFICATE_LOGO": "",
        "CERTIFICATE_SIGNATURE": "",
    }
    for env, key in ENV_VARS.items():
        if os.environ.get(env):
            cfg[key] = os.environ[env]
    cfg.update(overrides or {})
    for key in BOOLS:
        cfg[key] = _bool(cfg[key])
    cfg["LTI_CLOCK_SKEW"] = float(cfg["LTI_CLOCK_SKEW"])
    instance = Path(cfg["INSTANCE_PATH"]).absolute()
    cfg["INSTANCE_PATH"] = str(instance)
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'ce_credit.db'}"
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = _instance_secret(instance)
    return cfg


def _instance_secret(instance: Path) -> str:
    """A secret kept in the instance folder, so every worker and restart shares it."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        tmp = instance / f".secret_key.{os.getpid()}"
        tmp.write_text(secrets.token_hex(32))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic: the first worker wins, the others read its secret
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
