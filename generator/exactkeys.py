"""Exact-dedupe keys (normalise_key) at batch speed, and the first row per key.

The cleaning workers hash each key (`key_hashes`), so the parent groups a million rows with one
numpy sort instead of hashing a million strings; every group of equal hashes is confirmed on
the key strings, so a hash collision can never merge two different titles.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from generator.clean import _KEY_STRIP
from generator.forkmap import fork_map, joined

_SPACES = re.compile(" {2,}")
_ASCII_KEY = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum() and c != 10})
# the same map on bytes: letters lowercased, digits kept, "\n" kept, everything else a space
_KEY_BYTES = np.array(
    [c + 32 if 65 <= c <= 90 else c if chr(c).isalnum() or c == 10 else 32 for c in range(128)]
    + [32] * 128,
    dtype=np.uint8,
)


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


def key_hashes(buf: np.ndarray) -> np.ndarray:
    """hash(normalise_key(t)) of each title in `buf`: newline-free ASCII titles, each after a "\\n".

    Python's str hash: the same in the parent and its forked workers (one hash secret)."""
    kb = _KEY_BYTES[buf]
    space = kb == 32
    kb = kb[~(space & np.r_[False, space[:-1]])]  # runs of spaces squeezed to one
    space, newline = kb == 32, kb == 10
    kb = kb[~(space & (np.r_[False, newline[:-1]] | np.r_[newline[1:], True]))]  # then stripped
    keys = kb[1:].tobytes().decode("ascii").split("\n")[:-1]
    return np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))


def _first_per_key(
    codes: np.ndarray, first: np.ndarray, labels: Sequence[str]
) -> tuple[np.ndarray, Counter[str]]:
    """Rows kept (first per key code; codes under two labels dropped whole) and drop counts."""
    import pandas as pd  # heavy: only when deduping

    k = len(first)
    count = np.bincount(codes, minlength=k)
    conflict = np.zeros(k, dtype=bool)
    if len(set(labels)) > 1:
        lab_codes, lab_uniq = pd.factorize(pd.Series(list(labels), dtype=object))
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


def exact_dedupe_indices(
    texts: Sequence[str], labels: Sequence[str], keys: Sequence[str] | None = None
) -> tuple[np.ndarray, Counter[str]]:
    """Indices kept by exact dedupe (first per key; keys under two labels dropped whole) and counts.

    `keys`: the texts' exact_keys when the caller has them already."""
    import pandas as pd  # heavy: only when deduping

    if not len(texts):
        return np.zeros(0, dtype=np.int64), Counter()
    codes, _ = pd.factorize(pd.Series(exact_keys(texts) if keys is None else keys, dtype=object))
    # factorize numbers keys in order of first appearance: a code's first row is where it is new
    seen = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1])))
    return _first_per_key(codes, first, labels)


def dedupe_hashed(
    hashes: np.ndarray, texts: Sequence[str], labels: Sequence[str], key: Callable[[str], str]
) -> tuple[np.ndarray, Counter[str]]:
    """exact_dedupe_indices from the texts' key hashes (`key`: normalise_key, for the check)."""
    if not len(texts):
        return np.zeros(0, dtype=np.int64), Counter()
    _, first, codes, count = np.unique(
        hashes, return_index=True, return_inverse=True, return_counts=True
    )
    codes = codes.reshape(-1)
    # rows sharing a hash: their keys must be equal too, or it was a collision (then: strings)
    shared = np.flatnonzero(count[codes] > 1)
    if len(shared):
        at = np.full(len(texts), -1, dtype=np.int64)
        at[shared] = np.arange(len(shared))
        key_code = np.unique([key(texts[i]) for i in shared.tolist()], return_inverse=True)[1]
        if (key_code.reshape(-1) != key_code.reshape(-1)[at[first[codes[shared]]]]).any():
            return exact_dedupe_indices(texts, labels)
    return _first_per_key(codes, first, labels)
