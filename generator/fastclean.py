"""Batched cleaning and exact-dedupe keys: whole-batch scans for plain titles, clean_title for the rest.

A "plain" title is printable ASCII from a small safe alphabet with none of the patterns any
cleaning rule looks for; for it, clean_title reduces to trailing-punctuation handling and a
word count. Scans over the joined batch as one byte array (numpy tables, a few bytes regexes:
C speed) find every title that is not plain; those take the full per-title path, so results
are identical to clean_title for all inputs (tests/generator/test_fastclean.py checks that on
adversarial titles).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from generator.clean import clean_title, normalise_key
from generator.exactkeys import dedupe_hashed, key_hashes
from generator.forkmap import fork_map, joined
from generator.spec import CleanOptions


def _lut(chars: str) -> np.ndarray:
    """A 256-entry membership table for bytes."""
    out = np.zeros(256, dtype=bool)
    out[[ord(c) for c in chars]] = True
    return out


# anything outside this alphabet (quotes, markup, '#', '&', '*', '_', non-ASCII, tabs…) may
# trigger a rule: such titles take the per-title path
_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,.;:!?'%$()/+-\n"
_UNSAFE, _STOPS, _UPPER = ~_lut(_SAFE), _lut(".!?"), _lut("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# applied to the lowercased batch with "\n" before each title (a literal prefix: sre jumps from
# line to line): the starts that a list-marker, prefix, quote or meta rule inspects, a start
# that is not a letter or digit (spaces too), and titles without any letter
_LINE = re.compile(
    rb"\n(?:[^a-z0-9\n]|\d{1,3} *[.):-]|[a-z][.)] |title|headline|clickbait title|news title|h\d"
    rb"|here|below are|sure|certainly|of course|absolutely|okay|note|disclaimer|example"
    rb"|remember|i hope|let me know|feel free|these|(?=[^a-z\n]*\n))"
)
# words of _REFUSAL (each of its phrases contains one of these)
_REFUSAL_WORDS = ["sorry", "cannot", "can't", "cant", "apologi", "as an ai", "unable"]
_REFUSAL_WORDS.append("language model")


def _charge(pos: list[int] | np.ndarray, starts: np.ndarray, flags: np.ndarray) -> None:
    """Mark the titles that the text positions fall in."""
    pos = np.asarray(pos, dtype=np.int64)
    if len(pos):
        flags[np.searchsorted(starts, pos, side="right") - 1] = True


def _flag(pattern: re.Pattern, text: str | bytes, starts: np.ndarray, flags: np.ndarray) -> None:  # type: ignore[type-arg]
    """Mark every title in which `pattern` matches (a match is charged to the title it starts in)."""
    _charge(np.fromiter((m.start() for m in pattern.finditer(text)), dtype=np.int64), starts, flags)


def _find_all(text: bytes, words: Sequence[bytes]) -> list[int]:
    """Every position of every word (bytes.find: several times faster than a regex alternation)."""
    out = []
    for w in words:
        i = text.find(w)
        while i >= 0:
            out.append(i)
            i = text.find(w, i + 1)
    return out


def _ascii_batch(texts: Sequence[str]) -> tuple[bytes, list[int]]:
    """The titles as b"\\n" + joined + b"\\n" (+ 3 zero bytes of padding), and the rows replaced.

    A title that is not newline-free ASCII stands as "\\0" (an unsafe character: it is never
    plain), so every title is one run of bytes between two newlines at its string offsets."""
    n = len(texts)
    text = "\n".join(texts)
    bad: list[int] = []
    if not text.isascii() or text.count("\n") != n - 1:
        bad = [i for i, t in enumerate(texts) if not t.isascii() or "\n" in t]
        stand_in = list(texts)
        for i in bad:
            stand_in[i] = "\0"
        text = "\n".join(stand_in)
    return b"\n" + text.encode("ascii") + b"\n\0\0\0", bad


def _flags(
    data: bytes, ends: np.ndarray, opts: CleanOptions, label_names: Sequence[str]
) -> np.ndarray:
    """True for each title of an _ascii_batch that some cleaning rule may change or reject."""
    pad = np.frombuffer(data, dtype=np.uint8)
    buf = pad[:-3]
    starts = np.r_[0, ends[:-1]]  # the newline before each title: a match there is its title's
    lengths = ends - starts - 1
    flags = (lengths > opts.max_chars) | (lengths == 0)
    _charge(np.flatnonzero(_UNSAFE[buf]), starts, flags)
    space = buf == 32
    _charge(np.flatnonzero(space[1:] & space[:-1]), starts, flags)  # a double space
    # _SENTENCE ([.!?]'? +[A-Z]): with two spaces a double space flags the title already
    p = np.flatnonzero(_STOPS[buf])
    b1, b2, b3 = pad[p + 1], pad[p + 2], pad[p + 3]
    _charge(p[((b1 == 32) & _UPPER[b2]) | ((b1 == 39) & (b2 == 32) & _UPPER[b3])], starts, flags)
    lower = data.lower()  # bytes: ASCII letters only, the length stays
    _flag(_LINE, lower, starts, flags)
    # every label-tag and label-word rule needs the name itself (case-insensitively); on ASCII
    # text a lowercase search is the same test (a non-ASCII name keeps re.I: 'K' (Kelvin) is 'k')
    words = sorted({*_REFUSAL_WORDS, *label_names, *opts.label_words} - {""}, key=len, reverse=True)
    if all(w.isascii() for w in words):
        _charge(_find_all(lower, [w.lower().encode("ascii") for w in words]), starts, flags)
    else:
        pattern = re.compile("|".join(re.escape(w) for w in words), re.I)
        _flag(pattern, data.decode("ascii"), starts, flags)
    return flags


def _ends(data: bytes) -> np.ndarray:
    """Positions of the newline after each title of an _ascii_batch."""
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8)[1:-3] == 10) + 1


def plain_mask(texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str]) -> np.ndarray:
    """True where clean_title would only strip trailing punctuation and count words."""
    if not len(texts):
        return np.ones(0, dtype=bool)
    data, bad = _ascii_batch(texts)
    flags = _flags(data, _ends(data), opts, label_names)
    flags[bad] = True
    return ~flags


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
    buf: np.ndarray, ends: np.ndarray, opts: CleanOptions
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """clean_title of every title of a batch as if plain: (cleaned bytes, texts, reason codes, rows
    needing clean_title); the caller ignores what it computed for the titles that are not plain."""
    drop, overflow = _tail_drops(buf, ends, np.r_[0, ends[:-1]] + 1, opts.trailing_punctuation)
    keep = np.ones(len(buf), dtype=bool)
    keep[drop] = False
    out = buf[keep]
    newlines = np.flatnonzero(out == 10)
    titles = out[1:].tobytes().decode("ascii").split("\n")[:-1]
    # spaces before each title's end, differenced: words = spaces + 1 (single spaces only here)
    words = np.diff(np.searchsorted(np.flatnonzero(out == 32), newlines)) + 1
    reason = np.zeros(len(ends), dtype=np.int8)
    reason[words > opts.max_words] = 3
    reason[words < opts.min_words] = 2
    reason[out[newlines[1:] - 1] == ord(":")] = 1  # clean_title checks meta before the word counts
    return out, titles, reason, overflow


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
    return _clean_batch(texts, opts, label_names, keys=False)[:2]


def _clean_key_part(
    texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str]
) -> tuple[list[str | None], list[str | None], np.ndarray]:
    """Cleaned texts, reasons and exact-key hashes (garbage where rejected) of part of the rows."""
    return _clean_batch(texts, opts, label_names, keys=True)


def _clean_batch(
    texts: Sequence[str], opts: CleanOptions, label_names: Sequence[str], keys: bool
) -> tuple[list[str | None], list[str | None], np.ndarray]:
    """Cleaned texts, reasons and (if `keys`) the hashes of their exact keys, in this process."""
    texts = [t or "" for t in texts]
    n = len(texts)
    hashes = np.zeros(n, dtype=np.int64)
    if not n:
        return [], [], hashes
    data, bad = _ascii_batch(texts)
    ends = _ends(data)
    slow = _flags(data, ends, opts, label_names)
    slow[bad] = True
    out, titles, code, overflow = _plain_clean(np.frombuffer(data, np.uint8)[:-3], ends, opts)
    slow |= overflow
    cleaned: list[str | None] = titles  # type: ignore[assignment]
    reasons: list[str | None] = [None] * n
    rejected = np.flatnonzero((code != 0) & ~slow)
    for i, r in zip(rejected.tolist(), _PLAIN_REASONS[code[rejected]].tolist(), strict=True):
        cleaned[i], reasons[i] = None, r
    if keys:
        hashes = key_hashes(out)
    for i in np.flatnonzero(slow).tolist():
        t, reasons[i] = clean_title(texts[i], opts, label_names)
        cleaned[i] = t
        if keys and t is not None:
            hashes[i] = hash(normalise_key(t))  # as key_hashes (one hash secret)
    return cleaned, reasons, hashes


def clean_exact(
    texts: Sequence[str],
    labels: Sequence[str],
    opts: CleanOptions,
    label_names: Sequence[str],
    on_step: Callable[[str], None] | None = None,
) -> tuple[list[int], list[str], Counter[str]]:
    """Clean, then exact-dedupe: (kept input indices, their cleaned texts, drops by reason)."""
    # one pass per part on both cores: each worker cleans its rows and hashes their keys
    cleaned, reasons, hashes = joined(fork_map(_clean_key_part, texts, opts, label_names))
    dropped: Counter[str] = Counter()
    for r, count in Counter(reasons).items():  # Counter counts in C; most reasons are None
        if r is not None:
            dropped[r or "rejected"] += count
    if on_step:
        on_step("exact")
    if dropped:
        ok = [i for i, t in enumerate(cleaned) if t is not None]
        cleaned_ok, labels_ok = [cleaned[i] for i in ok], [labels[i] for i in ok]
        hashes = hashes[ok]
    else:  # nothing rejected (a clean corpus): no per-row selection
        ok, cleaned_ok, labels_ok = range(len(cleaned)), cleaned, labels  # type: ignore[assignment]
    kept, dup = dedupe_hashed(hashes, cleaned_ok, labels_ok, normalise_key)  # type: ignore[arg-type]
    dropped.update(dup)
    if len(kept) == len(cleaned):  # nothing dropped at all: no selection either
        return list(range(len(cleaned))), cleaned, dropped  # type: ignore[return-value]
    idx = [ok[i] for i in kept.tolist()]
    return idx, [cleaned[i] for i in idx], dropped  # type: ignore[misc]
