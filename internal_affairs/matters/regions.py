"""Countries and regions for 因私出国（境） forms: ISO 3166-1 with Simplified Chinese names."""

from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry

__all__ = ["regions", "region_name", "is_region"]

# 出境 destinations that are not 出国: named as the PRC's own usage requires
_OVERRIDES = {"HK": "中国香港", "MO": "中国澳门", "TW": "中国台湾"}
_EXCLUDED = {"CN"}


@lru_cache(maxsize=1)
def regions() -> tuple[tuple[str, str], ...]:
    """``(alpha_2, Chinese name)`` for every destination, sorted by code."""
    zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    out = []
    for country in pycountry.countries:
        code = country.alpha_2
        if code in _EXCLUDED:
            continue
        out.append((code, _OVERRIDES.get(code) or zh.gettext(country.name)))
    return tuple(sorted(out))


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    return dict(regions())


def region_name(code: str) -> str:
    return _names().get(code, code)


def is_region(code: object) -> bool:
    return isinstance(code, str) and code in _names()
