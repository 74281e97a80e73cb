"""The tool's JSON (lti_tool.jsonio): orjson where it can, the same values as the standard library's json."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from lti_tool import jsonio
from lti_tool.app import ToolFlask

ODD = [
    {"text": "Zoë – “quoted” \u2028 </script>", "n": -(2**63), "f": 0.1, "none": None, "list": [True, False]},
    {"by_id": {7: "seven", "8": "eight"}},  # a key that is not a string: orjson refuses, json makes it "7"
    ("a", "tuple"),
]


@pytest.mark.parametrize("value", ODD)
def test_dumps_and_loads_give_the_values_json_gives(value):
    text = jsonio.dumps(value)
    assert jsonio.loads(text) == json.loads(json.dumps(value))
    assert jsonio.loads(jsonio.dumpb(value)) == json.loads(json.dumps(value))
    assert "\n" not in text and ", " not in text.replace("Zoë – ", "")  # compact


def test_loads_refuses_what_is_not_json_as_json_does():
    for bad in ("", "{", "[1,]", "NaN-ish"):
        with pytest.raises(ValueError):
            jsonio.loads(bad)


def test_integers_beyond_64_bits_are_written_and_read_back_as_floats():
    """orjson refuses to write them (json writes them) and reads them as floats: documented in
    jsonio; the tool stores none (ids are strings, points floats)."""
    assert jsonio.dumps({"big": 2**64 + 1}) == '{"big":18446744073709551617}'
    assert jsonio.loads("1" + "0" * 30) == 1e30


def test_dumps_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        jsonio.dumps({"x": object()})


@dataclass
class Row:
    a: int


def test_the_apps_jsonify_answers_as_flasks_own():
    """Dates as HTTP dates, dataclasses as objects, keys in order, indented in debug: as Flask's
    provider does, through orjson."""
    tool, plain = ToolFlask("t"), Flask("p")
    assert isinstance(tool.json, jsonio.JSONProvider) and type(plain.json) is DefaultJSONProvider
    value = {"when": datetime(2026, 12, 7, 20, 0, tzinfo=UTC), "row": Row(3), "z": 1, "a": [1, 2]}
    for sort_keys in (True, False):
        tool.json.sort_keys = plain.json.sort_keys = sort_keys
        with tool.app_context():
            ours = tool.json.response(value).get_data(as_text=True)
        with plain.app_context():
            theirs = plain.json.response(value).get_data(as_text=True)
        assert ours == theirs, (ours, theirs)
        assert "Mon, 07 Dec 2026 20:00:00 GMT" in ours
    tool.debug = plain.debug = True
    with tool.app_context():
        ours = tool.json.response(value).get_data(as_text=True)
    with plain.app_context():
        assert ours == plain.json.response(value).get_data(as_text=True) and "\n  " in ours
    assert tool.json.loads('{"a": [1, "é"]}') == {"a": [1, "é"]}
