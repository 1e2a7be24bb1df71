"""Batched cleaning and exact-dedupe keys: whole-batch scans for plain titles, clean_title for the rest.

A "plain" title is printable ASCII from a small safe alphabet with none of the patterns any
cleaning rule looks for; for it, clean_title reduces to trailing-punctuation handling and a
word count. A few regex scans over the joined batch (C speed) find every title that is not
plain; those take the full per-title path, so results are identical to clean_title for all
inputs (tests/generator/test_fastclean.py checks that on adversarial titles).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from generator.clean import _KEY_STRIP, clean_title
from generator.forkmap import fork_map, joined
from generator.spec import CleanOptions

# anything outside this alphabet (quotes, markup, '#', '&', '*', '_', non-ASCII, tabs…) may
# trigger a rule: such titles take the per-title path
_UNSAFE = re.compile(r"[^A-Za-z0-9 ,.;:!?'%$()/+\-\n]")
_SENTENCE = re.compile(r"[.!?]'? +[A-Z]")  # _SENTENCE_BREAK within the safe alphabet
# applied to the lowercased batch with "\n" before each title (a literal prefix: sre jumps from
# line to line): the starts that a list-marker, prefix, quote or meta rule inspects, a start
# that is not a letter or digit (spaces too), and titles without any letter
_LINE = re.compile(
    r"\n(?:[^a-z0-9\n]|\d{1,3} *[.):-]|[a-z][.)] |title|headline|clickbait title|news title|h\d"
    r"|here|below are|sure|certainly|of course|absolutely|okay|note|disclaimer|example"
    r"|remember|i hope|let me know|feel free|these|(?=[^a-z\n]*\n))"
)
_DOUBLE_SPACE = re.compile("  ")
_SPACES = re.compile(" {2,}")
# words of _REFUSAL (each of its phrases contains one of these)
_REFUSAL_WORDS = [
    "sorry",
    "cannot",
    "can't",
    "cant",
    "apologi",
    "as an ai",
    "unable",
    "language model",
]
_ASCII_KEY = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum() and c != 10})
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(65, 91)})


def _charge(pos: list[int] | np.ndarray, starts: np.ndarray, flags: np.ndarray) -> None:
    """Mark the titles that the text positions fall in."""
    pos = np.asarray(pos, dtype=np.int64)
    if len(pos):
        flags[np.searchsorted(starts, pos, side="right") - 1] = True


def _flag(pattern: re.Pattern[str], joined: str, starts: np.ndarray, flags: np.ndarray) -> None:
    """Mark every title in which `pattern` matches (a match is charged to the title it starts in)."""
    _charge(
        np.fromiter((m.start() for m in pattern.finditer(joined)), dtype=np.int64), starts, flags
    )


def _find_all(text: str, words: Sequence[str]) -> list[int]:
    """Every position of every word (str.find: several times faster than a regex alternation)."""
    out = []
    for w in words:
        i = text.find(w)
        while i >= 0:
            out.append(i)
            i = text.find(w, i + 1)
    return out


def plain_mask(texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str]) -> np.ndarray:
    """True where clean_title would only strip trailing punctuation and count words."""
    n = len(texts)
    flags = np.zeros(n, dtype=bool)
    if not n:
        return ~flags
    joined = "\n" + "\n".join(texts) + "\n"
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    if joined.count("\n") != n + 1:  # a title with a newline in it: find which ones
        flags |= np.fromiter(("\n" in t for t in texts), dtype=bool, count=n)
    flags |= (lengths > opts.max_chars) | (lengths == 0)
    _flag(_UNSAFE, joined, starts, flags)
    _flag(_SENTENCE, joined, starts, flags)
    _flag(_DOUBLE_SPACE, joined, starts, flags)
    # lowercase ASCII only: str.lower() may change the length of other text ('İ' is two
    # characters in lowercase), which would shift every later title's offsets
    lower = joined.lower() if joined.isascii() else joined.translate(_ASCII_LOWER)
    _flag(_LINE, lower, starts, flags)
    # every label-tag and label-word rule needs the name itself (case-insensitively); on ASCII
    # text a lowercase search is the same test (a non-ASCII name keeps re.I: 'K' (Kelvin) is 'k')
    words = sorted({*_REFUSAL_WORDS, *label_names, *opts.label_words} - {""}, key=len, reverse=True)
    if all(w.isascii() for w in words):
        _charge(_find_all(lower, [w.lower() for w in words]), starts, flags)
    else:
        _flag(re.compile("|".join(re.escape(w) for w in words), re.I), joined, starts, flags)
    return ~flags


def _lut(chars: str) -> np.ndarray:
    """A 256-entry membership table for bytes."""
    out = np.zeros(256, dtype=bool)
    out[[ord(c) for c in chars]] = True
    return out


_END_STRIP, _END_PUNCT = _lut(" -:;,"), _lut(" .!?")  # strip(" -–—:;,") and _TRAILING, ASCII
_TAIL = 8  # trailing characters looked at per title; a longer punctuation run goes per title
_PLAIN_REASONS = np.array([None, "meta", "too_short", "too_long"], dtype=object)


def _run_from_right(member: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at column limit-1 of each row (columns >= limit ignored)."""
    run = np.zeros(len(member), dtype=np.int64)
    alive = np.ones(len(member), dtype=bool)
    for k in range(member.shape[1] - 1, -1, -1):
        before = k < limit
        alive &= member[:, k] | ~before
        run += alive & before
    return run


def _tail_drops(
    buf: np.ndarray, ends: np.ndarray, starts: np.ndarray, policy: str
) -> tuple[np.ndarray, np.ndarray]:
    """Positions to delete (end strip, trailing punctuation but one kept mark) and rows too long to tell."""
    cols = np.arange(_TAIL)
    pos = ends[:, None] - _TAIL + cols
    inside = pos >= starts[:, None]
    win = np.where(inside, buf[np.maximum(pos, 0)], np.uint8(97))
    n_strip = _run_from_right(_END_STRIP[win] & inside, np.full(len(ends), _TAIL))
    body_end = _TAIL - n_strip
    drop = cols >= body_end[:, None]
    run = n_strip
    if policy != "keep":
        n_punct = _run_from_right(_END_PUNCT[win] & inside, body_end)
        punct = (cols >= (body_end - n_punct)[:, None]) & ~drop
        drop |= punct
        run = n_strip + n_punct
        # the mark that stays: a question stays a question; normalise keeps one '!' otherwise
        marked = np.zeros(len(ends), dtype=bool)
        for mark in "?!" if policy == "normalise" else "?":
            hit = punct & (win == ord(mark))
            rows = np.flatnonzero(hit.any(axis=1) & ~marked)
            drop[rows, hit[rows].argmax(axis=1)] = False
            marked[rows] = True
    return pos[drop], run >= _TAIL


def _plain_clean(
    texts: Sequence[str], opts: CleanOptions
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """clean_title of plain titles at once: (cleaned texts, reason codes, rows needing clean_title)."""
    n = len(texts)
    buf = np.frombuffer(("\n".join(texts) + "\n").encode("ascii"), dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    drop, overflow = _tail_drops(buf, ends, starts, opts.trailing_punctuation)
    keep = np.ones(len(buf), dtype=bool)
    keep[drop] = False
    out = buf[keep]
    ends = np.flatnonzero(out == 10)
    titles = out.tobytes().decode("ascii").split("\n")[:-1]
    # spaces before each title's end, then per title: words = spaces + 1 (single spaces only here)
    words = np.diff(np.searchsorted(np.flatnonzero(out == 32), ends), prepend=0) + 1
    reason = np.zeros(n, dtype=np.int8)
    reason[words > opts.max_words] = 3
    reason[words < opts.min_words] = 2
    reason[out[ends - 1] == ord(":")] = 1  # clean_title checks meta before the word counts
    return titles, reason, overflow


def clean_many(
    texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str]
) -> tuple[list[str | None], list[str | None]]:
    """clean_title of every text, in order (same results, batch speed, both cores): (titles, reasons)."""
    cleaned, reasons = joined(fork_map(_clean_part, texts, opts, label_names))
    return cleaned, reasons


def _clean_part(
    texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str]
) -> tuple[list[str | None], list[str | None]]:
    """clean_many of one part of the rows, in this process."""
    texts = [t or "" for t in texts]
    plain = plain_mask(texts, opts, label_names)
    idx = np.flatnonzero(plain)
    cleaned: list[str | None] = [None] * len(texts)
    reasons: list[str | None] = [None] * len(texts)
    slow = np.flatnonzero(~plain).tolist()
    if len(idx):
        out, code, overflow = _plain_clean([texts[i] for i in idx.tolist()], opts)
        ok = code == 0
        for i, t in zip(
            idx[ok & ~overflow].tolist(),
            np.asarray(out, dtype=object)[ok & ~overflow].tolist(),
            strict=True,
        ):
            cleaned[i] = t
        for i, r in zip(
            idx[~ok & ~overflow].tolist(),
            _PLAIN_REASONS[code[~ok & ~overflow]].tolist(),
            strict=True,
        ):
            reasons[i] = r
        slow += idx[overflow].tolist()
    for i in slow:
        cleaned[i], reasons[i] = clean_title(texts[i], opts, label_names)
    return cleaned, reasons


def exact_keys(texts: Sequence[str]) -> list[str]:
    """normalise_key of every text; the ASCII ones mapped in one pass over the joined batch."""
    return joined(fork_map(_keys_part, texts))[0]  # type: ignore[no-any-return]


def _keys_part(texts: Sequence[str]) -> tuple[list[str]]:
    """exact_keys of one part of the rows, in this process."""
    keys = [""] * len(texts)
    joined = "\n".join(texts)
    if joined.isascii():  # the usual case: no per-title test needed
        ascii_idx = list(range(len(texts)))
    else:
        ascii_idx = [i for i, t in enumerate(texts) if t.isascii()]
        joined = "\n".join(texts[i] for i in ascii_idx)
    if joined.count("\n") != len(ascii_idx) - 1:  # a newline inside a title: per title
        ascii_idx, joined = [], ""
    if ascii_idx:
        # on ASCII, NFKC is the identity and casefold is lower(); [\\W_]+ -> " " then strip
        squeezed = _SPACES.sub(" ", joined.lower().translate(_ASCII_KEY))
        for i, k in zip(ascii_idx, squeezed.split("\n"), strict=True):
            keys[i] = k.strip()
    if len(ascii_idx) < len(texts):
        for i in set(range(len(texts))) - set(ascii_idx):
            keys[i] = _KEY_STRIP.sub(
                " ", unicodedata.normalize("NFKC", texts[i]).casefold()
            ).strip()
    return (keys,)


def exact_dedupe_indices(
    texts: Sequence[str], labels: Sequence[str], keys: Sequence[str] | None = None
) -> tuple[np.ndarray, Counter[str]]:
    """Indices kept by exact dedupe (first per key; keys under two labels dropped whole) and counts.

    `keys`: the texts' exact_keys when the caller has them already."""
    import pandas as pd  # heavy: only when deduping

    n = len(texts)
    if not n:
        return np.zeros(0, dtype=np.int64), Counter()
    codes, uniq = pd.factorize(pd.Series(exact_keys(texts) if keys is None else keys, dtype=object))
    k = len(uniq)
    count = np.bincount(codes, minlength=k)
    # factorize numbers keys in order of first appearance: a code's first row is where it is new
    seen = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1])))
    lab_codes, lab_uniq = pd.factorize(pd.Series(list(labels), dtype=object))
    conflict = np.zeros(k, dtype=bool)
    if len(lab_uniq) > 1:
        pairs = pd.unique(codes.astype(np.int64) * len(lab_uniq) + lab_codes)
        conflict = np.bincount(pairs // len(lab_uniq), minlength=k) > 1
    dropped: Counter[str] = Counter()
    dup = int((count[~conflict] - 1).sum())
    conf = int(count[conflict].sum())
    if dup:
        dropped["exact_duplicate"] = dup
    if conf:
        dropped["label_conflict"] = conf
    return np.sort(first[~conflict]), dropped


def clean_exact(
    texts: Sequence[str],
    labels: Sequence[str],
    opts: CleanOptions,
    label_names: Sequence[str],
    on_step: Callable[[str], None] | None = None,
) -> tuple[list[int], list[str], Counter[str]]:
    """Clean, then exact-dedupe: (kept input indices, their cleaned texts, drops by reason)."""
    # one pass per part on both cores: each worker cleans its rows and keys what survives
    cleaned, reasons, keys = joined(fork_map(_clean_key_part, texts, opts, label_names))
    dropped: Counter[str] = Counter(r or "rejected" for r in reasons if r is not None)
    if on_step:
        on_step("exact")
    if dropped:
        ok = [i for i, t in enumerate(cleaned) if t is not None]
        cleaned_ok, labels_ok, keys_ok = ([x[i] for i in ok] for x in (cleaned, labels, keys))
    else:  # nothing rejected (a clean corpus): no per-row selection
        ok, cleaned_ok, labels_ok, keys_ok = range(len(cleaned)), cleaned, labels, keys
    kept, dup = exact_dedupe_indices(cleaned_ok, labels_ok, keys_ok)  # type: ignore[arg-type]
    dropped.update(dup)
    idx = [ok[i] for i in kept.tolist()]
    return idx, [cleaned[i] for i in idx], dropped  # type: ignore[misc]


def _clean_key_part(
    texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str]
) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """Cleaned texts, reasons and exact keys (None where rejected) of one part of the rows."""
    cleaned, reasons = _clean_part(texts, opts, label_names)
    if not any(r is not None for r in reasons):  # nothing rejected: keys row for row
        return cleaned, reasons, _keys_part(cleaned)[0]  # type: ignore[arg-type,return-value]
    it = iter(_keys_part([t for t in cleaned if t is not None])[0])
    return cleaned, reasons, [None if t is None else next(it) for t in cleaned]
