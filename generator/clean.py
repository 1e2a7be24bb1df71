"""Cleaning titles (pure): strip the LLM's artefacts, reject junk with a named reason, exact dedupe."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import emoji

from generator.items import Title
from generator.spec import CleanOptions, TaskSpec

_LIST_MARKER = re.compile(
    r"^\s*(?:\d{1,3}\s*[.):\]-]|[-*•·▪►–—]|\(\d{1,3}\)|[a-zA-Z][.)](?=\s))\s*"
)
_PREFIX = re.compile(
    r"^(?:title|headline|clickbait title|news title|h\d)\s*(?:\d{1,3})?\s*[:\-–]\s*", re.I
)
_MD = re.compile(r"(\*\*|__|`+|^#+\s*|~~)")
_HASHTAG = re.compile(r"(?:^|\s)#\w+")
_QUOTES = "\"'“”‘’«»„`"
_TRAILING = re.compile(r"[\s.!?…]+$")
# "language model" alone is a Sci/Tech subject, not a refusal: only the self-description counts
_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i cannot|i can'?t|i apologi[sz]e|as an ai|i'm unable|i am unable"
    r"|(?:as|i'?m|i am) an? (?:ai )?language model)\b",
    re.I,
)
_META = re.compile(
    r"^(?:(?:here(?: are|'s| is)|below are)\b.*\b(?:titles?|headlines?|examples?|list|options)\b"
    r"|(?:sure|certainly|of course|absolutely|okay)\s*[,!.]"
    r"|(?:note|notes|disclaimer|example|remember)\s*:"
    r"|(?:i hope|let me know|feel free|these (?:titles|headlines))\b)",
    re.I,
)
_SENTENCE_BREAK = re.compile(r"[.!?][\"'”’]?\s+[A-Z]")
_LETTER = re.compile(r"[^\W\d_]")
_ACTIVE_MARKUP = re.compile(r"<\s*/?\s*(?:script|style|iframe|object|embed|svg|img|a)\b", re.I)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_KEY_STRIP = re.compile(r"[\W_]+")


def _strip_wrapping_quotes(text: str) -> str:
    """Remove quotes around the whole title (repeatedly: '"“Title”"')."""
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES + ".!?":
        inner = text[1:].rstrip(".!?")
        if inner and inner[-1] in _QUOTES:
            text = inner[:-1].strip() + text[len(inner) + 1 :]
        else:
            break
    if text.count('"') == 1:
        text = text.replace('"', "")
    return text.strip()


def _trailing(text: str, policy: str) -> str:
    """Strip or normalise the telltale end punctuation small LLMs add ("!", "!!", "?!", ".")."""
    if policy == "keep":
        return text
    m = _TRAILING.search(text)
    if not m:
        return text
    tail, body = m.group(0), text[: m.start()]
    question = "?" in tail
    if policy == "normalise":
        return body + ("?" if question else "!" if "!" in tail else "")
    # strip: a question stays a question (that is content, not an artefact)
    return body + ("?" if question else "")


def _hostile(text: str, opts: CleanOptions) -> tuple[str | None, str | None]:
    """Drop what is not a title at all (runaway length, markup, escape codes); strip invisibles."""
    if len(text) > opts.max_chars:
        return None, "over_long"
    if _ACTIVE_MARKUP.search(text):
        return None, "markup"
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text):
        # ANSI escape codes and other control characters: terminal tricks, never headline text
        return None, "control_chars"
    if _BIDI.search(text):
        return None, "bidi_control"  # Trojan-source style reordering
    text = html.unescape(text)  # once: "&amp;" is "&", "&amp;amp;" stays "&amp;"
    if _TAG.search(text):
        return None, "markup"
    # zero-width and other format characters carry nothing a reader sees
    text = text.replace("\u200b", " ")  # a zero-width *space* still separates words
    return "".join(c for c in text if unicodedata.category(c) != "Cf"), None


def _label_tagged(text: str, names: Sequence[str]) -> bool:
    """The label as a tag: 'Sports: …', '[Sports] …', '… (Business)', '… - World', '#World'."""
    for name in names:
        n = re.escape(name)
        if re.match(rf"^\W*{n}\s*[:|\]\)»-]", text, re.I) or re.match(
            rf"^[\[(]\s*{n}\b", text, re.I
        ):
            return True
        if re.search(rf"[(\[]\s*{n}\s*[)\]]\W*$|\s[-–—|:]\s*{n}\W*$", text, re.I):
            return True
        if re.search(rf"#{n}(?!\w)", text, re.I):
            return True
    return False


def clean_title(
    text: str, opts: CleanOptions, label_names: Sequence[str]
) -> tuple[str | None, str | None]:
    """Return (cleaned title, None) or (None, reason it was rejected)."""
    safe, reason = _hostile(text or "", opts)
    if safe is None:
        return None, reason
    if _label_tagged(safe, label_names):
        return None, "label_leak"
    t = unicodedata.normalize("NFKC", safe)
    t = re.sub(r"\s+", " ", t).strip()
    if not t:
        return None, "empty"
    if _REFUSAL.search(t):
        return None, "refusal"
    for _ in range(3):  # markers and prefixes can nest: '1. **Title:** "…"'
        before = t
        t = _LIST_MARKER.sub("", t, count=1)
        t = _MD.sub("", t).strip()
        t = _PREFIX.sub("", t).strip()
        t = _strip_wrapping_quotes(t)
        if t == before:
            break
    if opts.strip_emoji and not t.isascii():  # emoji scanning is slow: skip plain ASCII
        t = emoji.replace_emoji(t, replace=" ")
    if opts.strip_hashtags:
        t = _HASHTAG.sub(" ", t)
    t = re.sub(r"\s+", " ", t).strip(" -–—:;,")
    t = _strip_wrapping_quotes(t)
    t = _trailing(t, opts.trailing_punctuation)
    if not t:
        return None, "empty"
    if not _LETTER.search(t):
        return None, "non_text"
    if _META.match(t) or t.endswith(":"):
        return None, "meta"
    # a label name is fine as an ordinary word ("World leaders meet"), not as a tag; words the
    # task lists as leaks are refused anywhere
    if _label_tagged(t, label_names) or any(
        re.search(rf"(?<!\w){re.escape(w)}(?!\w)", t, re.I) for w in opts.label_words if w
    ):
        return None, "label_leak"
    if _SENTENCE_BREAK.search(t):
        return None, "multi_sentence"
    words = len(t.split())
    if words < opts.min_words:
        return None, "too_short"
    if words > opts.max_words:
        return None, "too_long"
    return t, None


def normalise_key(text: str) -> str:
    """The exact-dedupe key: casefolded, punctuation and spacing ignored."""
    return _KEY_STRIP.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def exact_dedupe(items: Iterable[Title]) -> tuple[list[Title], Counter[str]]:
    """Keep the first title per key; a key seen under two labels (label sets) is dropped from all."""
    from generator.exactkeys import exact_dedupe_indices  # it imports this module

    items = list(items)
    keys = [t.label_key for t in items]  # multi-label titles compare their label sets
    kept, dropped = exact_dedupe_indices([t.text for t in items], keys)
    return [items[i] for i in kept.tolist()], dropped


@dataclass
class CleanResult:
    """Cleaned, exact-deduplicated titles in call order and drop counts by reason."""

    items: list[Title]
    dropped: Counter[str] = field(default_factory=Counter)
    raw_titles: int = 0


def clean_items(rows: Iterable[Mapping[str, Any]], spec: TaskSpec) -> CleanResult:
    """Clean every parsed title of the raw rows (in the given order), then exact-dedupe."""
    from generator.fastclean import clean_many  # it imports this module

    rows = list(rows)
    texts = [text for row in rows for text in row.get("titles") or ()]
    cleaned, reasons = clean_many(texts, spec.cleaning, spec.label_names)
    dropped: Counter[str] = Counter()
    kept: list[Title] = []
    at = 0
    for row in rows:  # counted row by row, as before: the report keeps its key order
        dropped.update(row.get("parse_dropped") or {})
        # multi-label rows carry one label set per title (aligned with `titles`)
        sets = row.get("label_sets") or ()
        for k, _ in enumerate(row.get("titles") or ()):
            if cleaned[at] is None:
                dropped[reasons[at] or "rejected"] += 1
            else:
                labels = tuple(sets[k]) if k < len(sets) else ()
                kept.append(Title(cleaned[at], row["label"], row["call_id"], labels))  # type: ignore[arg-type]
            at += 1
    kept, dup = exact_dedupe(kept)
    dropped.update(dup)
    return CleanResult(kept, dropped, len(texts))
