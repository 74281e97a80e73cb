"""Builds real ce_credit blocks on XBlock's TestRuntime, one runtime per learner over a shared store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from webob import Request
from xblock.fields import ScopeIds
from xblock.reference.user_service import UserService, XBlockUser
from xblock.runtime import DictKeyValueStore, KvsFieldData, NullI18nService
from xblock.test.tools import TestRuntime

from ce_xblock.block import CECreditBlock

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SettingsService:
    """The settings service as Open edX has it: one bucket per block class (XBLOCK_SETTINGS)."""

    def __init__(self, buckets: dict):
        self.buckets = buckets

    def get_settings_bucket(self, block, default=None):
        return self.buckets.get(type(block).__name__.replace("WithMixins", ""), default or {})


class CurrentUserService(UserService):
    """The user service with one signed-in user, as the LMS provides it."""

    def __init__(self, user):
        super().__init__()
        self.user = user

    def get_current_user(self):
        return self.user


class LanguageI18n(NullI18nService):
    """An i18n service that knows the page language, like the LMS's."""

    def __init__(self, language: str):
        super().__init__()
        self.language = language

    def get_language(self):
        return self.language


class CERuntime(TestRuntime):
    """TestRuntime with the URLs a handler needs and publish() recorded, as in the LMS."""

    def __init__(self, kvs, user=None, language="en", settings=None, with_user_service=True, i18n=None):
        services = {"field-data": KvsFieldData(kvs), "i18n": i18n or LanguageI18n(language)}
        if with_user_service:
            services["user"] = CurrentUserService(user or XBlockUser(full_name="Dana Q. Learner"))
        services["settings"] = SettingsService(settings or {})
        super().__init__(services=services)
        self.events: list[tuple[str, dict]] = []

    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        base = "http://lms.test/noauth" if thirdparty else "/handler"
        url = f"{base}/{block.scope_ids.usage_id}/{handler_name}/{suffix}"
        return url + (f"?{query}" if query else "")

    def local_resource_url(self, block, uri):
        return f"/resource/{block.scope_ids.block_type}/{uri}"

    def publish(self, block, event_type, event_data):
        self.events.append((event_type, event_data))


class Course:
    """One ce_credit block in a course, and its learners."""

    def __init__(self, xml: str):
        self.kvs = DictKeyValueStore()
        self.author = CERuntime(self.kvs)
        self.usage_id = self.author.parse_xml_string(xml)
        self.def_id = self.author.id_reader.get_definition_id(self.usage_id)

    def block(self, user_id="learner-1", **runtime_kwargs) -> CECreditBlock:
        rt = CERuntime(self.kvs, **runtime_kwargs)
        keys = ScopeIds(user_id, "ce_credit", self.def_id, self.usage_id)
        block = rt.construct_xblock_from_class(CECreditBlock, keys)
        clock = {"now": T0}
        block.clock = clock
        block.now = lambda: clock["now"]
        return block


def advance(block, minutes: float) -> None:
    block.clock["now"] += timedelta(minutes=minutes)


def post(block, handler: str, body, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode("utf-8")
    req = Request.blank("/", method="POST", body=data, headers={"Content-Type": "application/json"})
    req.host = "lms.test"
    return block.handle(handler, req)


def get(block, handler: str, suffix: str = "", query: str = ""):
    req = Request.blank("/" + (f"?{query}" if query else ""), method="GET")
    return block.handle(handler, req, suffix)


def api(block, action: str, payload=None):
    resp = post(block, "api", {"action": action, "payload": payload or {}})
    return resp.status_code, resp.json


def example_xml(name: str, **overrides) -> str:
    from ce_xblock.core import olx

    activity = olx.load(EXAMPLES / name)
    if overrides:
        activity = activity.replace(**overrides)
    return olx.dumps(activity)
