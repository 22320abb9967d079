"""Message catalogues (English default, Chinese): one flat JSON file per language."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "zh")
DEFAULT = "en"
LANG_COOKIE = "vigil_lang"
_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """Every message of `lang`, English filling any key the language lacks."""
    base = json.loads((_DIR / f"{DEFAULT}.json").read_text(encoding="utf-8"))
    if lang != DEFAULT and lang in LANGUAGES:
        base.update(json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8")))
    return base


def pick(cookie: str | None, user_language: str | None) -> str:
    """The page language: the switch's cookie, else the user's setting, else English."""
    for lang in (cookie, user_language):
        if lang in LANGUAGES:
            return lang
    return DEFAULT


def translate(lang: str, key: str) -> str:
    return catalogue(lang).get(key, key)
