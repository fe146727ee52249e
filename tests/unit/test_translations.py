"""The English catalog covers every UI string.

The msgids are the Simplified Chinese texts in the code and templates. These tests extract them
afresh (the same babel.cfg and keywords as ``scripts/i18n.sh``) and check them against
``internal_affairs/translations/en/LC_MESSAGES/messages.po``. When one fails because you added or
changed a string: run ``scripts/i18n.sh update`` and fill in the empty ``msgstr`` it lists.
"""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "internal_affairs" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["_", "gettext", "ngettext", "lazy_gettext", "_l"])}
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
HAN = re.compile(r"[\u3400-\u9fff]")
FIX = "run `scripts/i18n.sh update`, then translate in " + str(EN_PO.relative_to(ROOT))


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    """Extract into a temporary .pot (as ``scripts/i18n.sh extract`` does) and read it back."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(ROOT / "babel.cfg"))
    catalog = Catalog(project="internal-affairs")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    with open(pot, "wb") as fh:
        write_po(fh, catalog, sort_output=True)
    with open(pot, "rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def english() -> Catalog:
    with open(EN_PO, "rb") as fh:
        return read_po(fh, locale="en")


def test_extraction_finds_the_ui_strings(extracted):
    ids = {m.id for m in extracted if m.id}
    # One from Python, one from a lazy form label, one from a template with a placeholder.
    assert {"请求格式不正确。", "用户名", "您好，%(name)s"} <= ids, "babel.cfg no longer extracts the sources"
    assert not any(filename.startswith("org_sync") for m in extracted for filename, _ in m.locations)


def test_every_msgid_has_an_english_translation(extracted, english):
    problems = []
    for message in extracted:
        if not message.id:
            continue
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        found = english.get(message.id, message.context)
        if found is None:
            problems.append(f"missing  {_ids(message)[0]!r}  ({where})")
        elif found.fuzzy:
            problems.append(f"fuzzy    {_ids(message)[0]!r}  ({where})")
        elif not all(s and s.strip() for s in _strings(found)):
            problems.append(f"empty    {_ids(message)[0]!r}  ({where})")
    assert not problems, (f"{len(problems)} msgid(s) without an English text ({FIX}):\n  "
                          + "\n  ".join(problems))


def test_catalog_has_no_fuzzy_or_untranslated_entries(english):
    assert not english.fuzzy, "the header of messages.po is marked fuzzy: pybabel compile would skip it"
    bad = [_ids(m)[0] for m in english if m.id and (m.fuzzy or not all(_strings(m)))]
    assert not bad, f"fuzzy or empty entries in messages.po ({FIX}):\n  " + "\n  ".join(bad)


def test_translations_are_english(english):
    bad = [f"{_ids(m)[0]!r} -> {s!r}" for m in english if m.id for s in _strings(m) if HAN.search(s or "")]
    assert not bad, "msgstr still contains Chinese (copied msgid?):\n  " + "\n  ".join(bad)


def test_placeholders_match(english):
    problems = []
    for message in english:
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(_ids(message)[0]))
        values = dict.fromkeys(wanted, "x")
        for text in _strings(message):
            got = set(PLACEHOLDER.findall(text or ""))
            if got != wanted:
                problems.append(f"{_ids(message)[0]!r}: msgid has {sorted(wanted)}, msgstr has {sorted(got)}")
                continue
            # Jinja's newstyle gettext always applies ``%``: a stray "%" must be written "%%".
            try:
                text % values
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"{_ids(message)[0]!r}: msgstr {text!r} does not format ({exc})")
    assert not problems, "placeholder mismatches:\n  " + "\n  ".join(problems)


def test_catalog_compiles(english):
    errors = [f"{_ids(m)[0]!r}: {e}" for m, errs in english.check() for e in errs]
    assert not errors, "pybabel compile would report:\n  " + "\n  ".join(errors)
    buf = io.BytesIO()
    write_mo(buf, english)
    buf.seek(0)
    compiled = gettext.GNUTranslations(buf)
    assert compiled.gettext("登录") == "Log in"
    assert compiled.gettext("您好，%(name)s") % {"name": "沈立恒"} == "Hello, 沈立恒"
