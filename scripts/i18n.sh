#!/usr/bin/env bash
# Message catalogs. The msgids are the Simplified Chinese UI texts; English is the one translation.
#   scripts/i18n.sh extract   sources (babel.cfg) -> internal_affairs/translations/messages.pot
#   scripts/i18n.sh update    extract, then merge the .pot into en/messages.po (initialised if missing)
#                             and list what is still untranslated
#   scripts/i18n.sh compile   .po -> .mo (.mo files are gitignored; `make translations` compiles too)
# tests/unit/test_translations.py fails while any extracted msgid lacks an English text.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-.venv/bin}"
PYBABEL="$BIN/pybabel"
DIR=internal_affairs/translations
POT="$DIR/messages.pot"
LOCALES=(en)

extract() {
  mkdir -p "$DIR"
  local tmp
  tmp="$(mktemp "$DIR/.messages.pot.XXXXXX")"
  # Keywords are also listed per section in babel.cfg; repeated here for older Babel versions.
  "$PYBABEL" -q extract -F babel.cfg \
    -k _ -k gettext -k ngettext -k lazy_gettext -k _l \
    --no-location --sort-output --no-wrap \
    --project=internal-affairs --version=0.1 \
    -o "$tmp" . || { rm -f "$tmp"; return 1; }
  # Keep the old .pot when nothing but its POT-Creation-Date would change (less churn in git).
  if [[ -f "$POT" ]] && diff -q <(grep -v '^"POT-Creation-Date:' "$POT") \
                                 <(grep -v '^"POT-Creation-Date:' "$tmp") >/dev/null; then
    rm -f "$tmp"
  else
    mv "$tmp" "$POT"
  fi
}

update() {
  extract
  local lang po
  for lang in "${LOCALES[@]}"; do
    po="$DIR/$lang/LC_MESSAGES/messages.po"
    if [[ ! -f "$po" ]]; then
      "$PYBABEL" -q init -i "$POT" -d "$DIR" -l "$lang" --no-wrap
    fi
    "$PYBABEL" -q update -i "$POT" -d "$DIR" -l "$lang" \
      --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date --no-wrap
  done
  untranslated
}

compile() {
  "$PYBABEL" -q compile -d "$DIR"
}

# Informational: the msgids that still have no (or only a fuzzy) English text.
untranslated() {
  "$BIN/python" - "$DIR" "${LOCALES[@]}" <<'PY'
import sys
from babel.messages.pofile import read_po

directory, *langs = sys.argv[1:]
for lang in langs:
    with open(f"{directory}/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    todo = []
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        if m.fuzzy or not all(strings):
            todo.append(m.id if isinstance(m.id, str) else m.id[0])
    if todo:
        print(f"{lang}: {len(todo)} msgid(s) to translate in {directory}/{lang}/LC_MESSAGES/messages.po:")
        for msgid in todo:
            print(f"  {msgid}")
    else:
        print(f"{lang}: all {sum(1 for m in catalog if m.id)} msgids translated")
PY
}

case "${1:-}" in
  extract) extract ;;
  update) update ;;
  compile) compile ;;
  *) echo "usage: $0 {extract|update|compile}" >&2; exit 2 ;;
esac
