"""The structured body of an official document, parsed from plain typed text (pure).

A document body is not HTML: each non-empty line is a paragraph, and a line that starts with one
of GB/T 9704's four heading marks is a heading of that level — ``一、`` (1), ``（一）`` (2),
``1.`` / ``1．`` (3), ``（1）`` (4). Whatever else is typed, markup included, is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Block", "parse_body", "MAX_BODY", "diff_bodies"]

MAX_BODY = 100_000

_CN_NUM = "一二三四五六七八九十百零〇"
_LEVELS = (
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]+[）)]")),
    (3, re.compile(r"^[0-9０-９]+[.．](?![0-9])")),
    (4, re.compile(r"^[（(][0-9０-９]+[）)]")),
)


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the body: ``kind`` "heading" (with ``level`` 1–4) or "paragraph"."""

    kind: Literal["heading", "paragraph"]
    text: str
    level: int = 0

    def as_json(self) -> dict:
        """The block as plain data for the API."""
        return {"kind": self.kind, "level": self.level, "text": self.text}


def _level(line: str) -> int:
    for level, pattern in _LEVELS:
        if pattern.match(line):
            return level
    return 0


def parse_body(text: str) -> tuple[Block, ...]:
    """The blocks of ``text``: one per non-empty line (leading and trailing spaces, including
    the ideographic space authors type for indentation, are dropped). A level-1 or level-2 line
    is a heading; a level-3 or level-4 line is a heading only when short (≤ 40 characters) and
    without a full stop, since in GB/T 9704 those levels often open a running paragraph."""
    blocks = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip(" \t\u3000")
        if not line:
            continue
        level = _level(line)
        if level in (3, 4) and (len(line) > 40 or "。" in line[:-1]):
            level = 0
        blocks.append(Block("heading", line, level) if level else Block("paragraph", line))
    return tuple(blocks)


def diff_bodies(before: str, after: str) -> list[dict]:
    """The line differences between two bodies: ``[{op: equal|insert|delete, text}]``."""
    import difflib

    a = [b.text for b in parse_body(before)]
    b = [b.text for b in parse_body(after)]
    out: list[dict] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += [{"op": "equal", "text": t} for t in a[i1:i2]]
        else:
            out += [{"op": "delete", "text": t} for t in a[i1:i2]]
            out += [{"op": "insert", "text": t} for t in b[j1:j2]]
    return out
