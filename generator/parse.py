"""Turning an LLM reply into candidate titles: pure, tolerant, and every dropped line counted."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PREAMBLE = re.compile(
    r"^(sure|certainly|of course|absolutely|okay|ok|here (are|is)|below (are|is)|i('ve| have) (written|created|generated))\b.*",
    re.I,
)
_HEADER_ONLY = re.compile(r"^.{0,80}(titles|headlines)\s*(\(.*\))?\s*:\s*$", re.I)
_NOTE = re.compile(
    r"^(\*+\s*)?(note|notes|disclaimer|remember|these (titles|headlines)|i hope|let me know|feel free)\b",
    re.I,
)
_KEY_ONLY = re.compile(r'^\s*[{}\[\],]*\s*("titles"\s*:\s*\[?)?\s*[{}\[\],]*\s*$')


@dataclass
class ParseResult:
    """Candidate titles in reply order, and the lines dropped on the way, by reason."""

    titles: list[str]
    dropped: Counter[str] = field(default_factory=Counter)


def _strings_from(obj: Any) -> list[str] | None:
    """Titles from a decoded JSON value, or None when its shape is not a title list."""
    if isinstance(obj, dict):
        for key in ("titles", "headlines", "items", "data"):
            if key in obj:
                return _strings_from(obj[key])
        if "title" in obj and isinstance(obj["title"], str):
            return [obj["title"]]
        return None
    if isinstance(obj, list):
        out: list[str] = []
        for item in obj:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                val = item.get("title") or item.get("headline") or item.get("text")
                if isinstance(val, str):
                    out.append(val)
        return out
    return None


def _try_json(text: str) -> list[str] | None:
    """Decode the whole text, a fenced block, or the first {...}/[...] span as a title list."""
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for cand in candidates:
        try:
            found = _strings_from(json.loads(cand))
        except (json.JSONDecodeError, ValueError):
            continue
        if found is not None:
            return found
    return None


def _salvage_truncated(text: str) -> list[str] | None:
    """Complete string items of a JSON array cut off mid-reply (num_predict ran out)."""
    key = re.search(r'"(titles|headlines)"\s*:\s*\[', text)
    if not key:
        return None
    body = text[key.end() :]
    items: list[str] = []
    for m in _JSON_STRING.finditer(body):
        try:
            items.append(json.loads(f'"{m.group(1)}"'))
        except json.JSONDecodeError:
            continue
    return items


def parse_titles(text: str | None) -> ParseResult:
    """Extract candidate titles from JSON, broken JSON or free text; never raises."""
    result = ParseResult(titles=[])
    if not text or not text.strip():
        result.dropped["empty_reply"] += 1
        return result
    found = _try_json(text)
    if found is None and "{" in text:
        found = _salvage_truncated(text)
        if found is not None:
            result.dropped["truncated_json"] += 1
    if found is not None:
        for t in found:
            if t.strip():
                result.titles.append(t)
            else:
                result.dropped["blank"] += 1
        return result
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if _KEY_ONLY.match(stripped) or stripped.startswith("```"):
            result.dropped["json_fragment"] += 1
        elif _HEADER_ONLY.match(stripped) or (_PREAMBLE.match(stripped) and stripped.endswith(":")):
            result.dropped["preamble"] += 1
        elif _NOTE.match(stripped) or (stripped.startswith("(") and stripped.endswith(")")):
            result.dropped["note"] += 1
        elif re.fullmatch(r"[#*_=\-\s]+", stripped):
            result.dropped["markdown_rule"] += 1
        else:
            # JSON-ish leftovers: '"title",' from a half-broken array
            m = re.fullmatch(r'"(.*)"\s*,?', stripped)
            result.titles.append(m.group(1) if m else stripped)
    return result
