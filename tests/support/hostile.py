"""Hostile input for property tests: the strings and JSON documents that have broken records.

``hostile_strings()`` draws lone surrogates, NUL, bidirectional controls, very long text and
ordinary text with one of those inside; ``hostile_values()`` builds JSON values from them (with
numbers past 64 bits); ``json_text()`` turns a value into the request body a client would send
(``\\ud800`` escaped, as Python's and most parsers accept it); ``deep_json()`` nests past any
parser's comfort.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

__all__ = ["BIDI_CONTROLS", "hostile_strings", "hostile_values", "hostile_bodies", "json_text", "deep_json"]

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
LONG = 100_000

_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
_bad_chars = st.one_of(_surrogates, st.just("\x00"), st.sampled_from(BIDI_CONTROLS))
_ordinary = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


def _with_one(bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(_ordinary, bad, _ordinary).map("".join)


def hostile_strings() -> st.SearchStrategy[str]:
    """Strings a form field, a JSON key or a uid must survive (refused or cleaned, never a 500)."""
    return st.one_of(
        st.sampled_from(["a\ud800b", "\udfff", "\x00", "xujing\x00", "\u202egpj.exe", "张\u202e三",
                         "\u2066x\u2069", "\ud83d", "x" * LONG, "字" * LONG, ""]),
        _with_one(_bad_chars),
        st.builds(lambda s, n: (s or "x") * n, _with_one(_bad_chars), st.integers(1, 2000)),
    )


def hostile_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON values with hostile strings as keys and values, and numbers no database column holds."""
    leaves = st.one_of(hostile_strings(), st.integers(-(2**70), 2**70), st.sampled_from([10**30, -(10**30), 2**63, 2**64]),
                       st.booleans(), st.none(), st.floats(allow_nan=True, allow_infinity=True))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile_strings(), inner, max_size=3)), max_leaves=max_leaves)


def hostile_bodies(keys: list[str]) -> st.SearchStrategy[str]:
    """Request bodies for an endpoint that reads ``keys``: its own keys with hostile values, a
    hostile key, or a document nested a thousand deep."""
    known = st.dictionaries(st.sampled_from(keys), hostile_values(), min_size=1) if keys else st.just({})
    nested_form = st.builds(lambda k, v: {"form": {k: v}} if "form" in keys else {k: v},
                            hostile_strings(), hostile_values(4))
    return st.one_of(known.map(json_text), nested_form.map(json_text),
                     hostile_values().map(json_text), st.integers(500, 3000).map(deep_json))


def json_text(value: Any) -> str:
    """``value`` as JSON text with lone surrogates escaped (``\\ud800``) and NaN spelled out."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def deep_json(depth: int = 1000) -> str:
    """An object whose single key holds lists nested ``depth`` deep."""
    return '{"a": ' + "[" * depth + "]" * depth + "}"
