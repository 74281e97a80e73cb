"""The tool's JSON: orjson, with the standard library's json for what orjson refuses.

JSON is on every hot path: the learner API's answers (views of 10-15 KB), the learner state
column on each submit, and each cache entry of a login and launch. `json.dumps` took 50-80 µs of
a scored submit (a twelfth of it); orjson writes the same data in a fraction of that. orjson
writes compact JSON with non-ASCII characters as UTF-8, not `\\uXXXX` escapes: the same values
to any JSON reader. What it refuses to write (dict keys that are not strings, integers beyond
64 bits) goes to `json`, so nothing that `json` accepts fails here. One difference remains:
orjson reads an integer beyond 64 bits as a float. The tool stores none (its ids are strings,
its points floats), and a request's body with one meets the same validation as any other number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


def dumps(value: Any, default: Callable[[Any], Any] | None = None, option: int = 0) -> str:
    """Compact JSON text of `value`; `default` as for json.dumps (objects JSON has no form for)."""
    try:
        return orjson.dumps(value, default=default, option=option).decode()
    except TypeError:  # orjson.JSONEncodeError; json gives the same values, or the same refusal
        return json.dumps(
            value,
            default=default,
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=bool(option & orjson.OPT_SORT_KEYS),
        )


def dumpb(value: Any) -> bytes:
    """`dumps(value)` as UTF-8 bytes (for files and sockets)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return dumps(value).encode()


def loads(text: str | bytes) -> Any:
    """The value of JSON text; raises ValueError (json.JSONDecodeError) for text that is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. an integer beyond 64 bits, which json reads
        return json.loads(text)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON (jsonify, request.get_json) through `dumps` and `loads`.

    Dates, dataclasses and objects with `__html__` still go through Flask's own `default`, so
    they come out as with Flask's provider (a date as an HTTP date). Indented output (debug mode,
    or an explicit indent) is left to Flask's provider.
    """

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("indent") is not None:
            return super().dumps(obj, **kwargs)
        option = self._OPTIONS
        if kwargs.get("sort_keys", self.sort_keys):
            option |= orjson.OPT_SORT_KEYS
        return dumps(obj, default=kwargs.get("default", self.default), option=option)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return loads(s)
