"""Near duplicates at batch speed: tokens hashed in numpy, MinHash by token count, LSH by sorting.

Every step works on whole arrays: the casefolded batch is read as code points, `\\w+` runs are
hashed with a polynomial rolling hash (no Python string per token), signatures are computed for
all titles with the same token count at once, band buckets are found by sorting, and only
candidate pairs are checked with the exact word-set Jaccard of generator.neardup.similarity
(generator.nearverify) and grouped into clusters (generator.nearclusters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from itertools import pairwise

import numpy as np

from generator.forkmap import fork_map, joined, threads

# 20 bands x 6 rows: a pair at Jaccard 0.8 shares a bucket with probability 0.998 (0.85: 0.9998),
# while a pair sharing one word in six (J 0.15, common under Zipf word frequencies) does with
# probability 2e-4: 8x fewer false candidates to check than 25 x 5, for a 0.2% miss at J = 0.8
NUM_PERM, BANDS = 120, 20
MAX_BUCKET = 200  # beyond this a bucket links its members to its first only (no k² blow-up)
_CHUNK_CHARS = 1 << 22  # code points hashed per step: bounded memory at any input size
_P = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the rolling hash
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_ASCII_WORD = np.array([chr(c).isalnum() or c == 95 for c in range(128)])
_ASCII_TOKEN = np.array([not chr(c).isspace() for c in range(128)])
_POWERS: dict[str, np.ndarray] = {}


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: every input bit reaches every output bit."""
    x = x ^ (x >> np.uint64(30))
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    return x ^ (x >> np.uint64(31))


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i modulo 2**64 for i < n (cached, grown on demand)."""
    if "p" not in _POWERS or len(_POWERS["p"]) < n:
        size = max(n, 2 * _CHUNK_CHARS)  # headroom: chunks run a little over _CHUNK_CHARS
        inv = np.uint64(pow(int(_P), -1, 1 << 64))
        with np.errstate(over="ignore"):
            _POWERS["p"] = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _P)], dtype=np.uint64)
            _POWERS["i"] = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, inv)], dtype=np.uint64)
    return _POWERS["p"][:n], _POWERS["i"][:n]


def _char_mask(cp: np.ndarray, ascii_table: np.ndarray, test: Callable[[str], bool]) -> np.ndarray:
    """test(chr(c)) for every code point: a table for ASCII, one call per distinct other one."""
    if cp.dtype == np.uint8:
        return ascii_table[cp]
    out = np.zeros(len(cp), dtype=bool)
    low = cp < 128
    out[low] = ascii_table[cp[low]]
    if not low.all():
        uniq, inv = np.unique(cp[~low], return_inverse=True)
        out[~low] = np.array([test(chr(c)) for c in uniq.tolist()])[inv]
    return out


def _word_mask(cp: np.ndarray) -> np.ndarray:
    """Where the code points are `\\w` characters (str.isalnum() or '_', as Python's re)."""
    return _char_mask(cp, _ASCII_WORD, str.isalnum)


def _space_mask(cp: np.ndarray) -> np.ndarray:
    """Where the code points are not whitespace (str.split()'s separators)."""
    return _char_mask(cp, _ASCII_TOKEN, lambda c: not c.isspace())


def _chunk_tokens(
    texts: Sequence[str], seed: int, scratch: list[np.ndarray], spaced: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(token hash, tokens per title) of the `\\w+` tokens (and whitespace tokens) of the casefolded texts."""
    s = "\n".join(texts)
    if s.count("\n") != len(texts) - 1:  # a title with a newline in it: one space instead
        s = "\n".join(t.replace("\n", " ") for t in texts)
    s = s.casefold()
    if s.isascii():
        cp = np.frombuffer(s.encode("ascii"), dtype=np.uint8)
    else:
        cp = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = len(cp)
    if not n:
        return [(np.zeros(0, np.uint64), np.zeros(len(texts), np.int64))] * (1 + spaced)
    pw, ipw = _powers(n)
    with np.errstate(over="ignore"):
        # one reused buffer: fresh 30 MB arrays per chunk cost more in page faults than the maths
        if len(scratch[0]) < n:
            scratch[0] = np.empty(max(n, _CHUNK_CHARS * 2), dtype=np.uint64)
        csum = scratch[0][:n]
        np.copyto(csum, cp, casting="unsafe")
        csum *= pw  # word characters are never 0: cp itself is the digit of the polynomial
        np.cumsum(csum, out=csum)
    newlines = np.flatnonzero(cp == 10)
    out = []
    for mask in [_word_mask(cp)] + ([_space_mask(cp)] if spaced else []):
        # token starts and ends alternate among the changes of the mask: one scan finds both
        edge = np.empty(n + 1, dtype=bool)
        edge[0], edge[n] = mask[0], mask[n - 1]
        np.not_equal(mask[1:], mask[:-1], out=edge[1:n])
        bounds = np.flatnonzero(edge)
        start, end = bounds[0::2], bounds[1::2] - 1  # end inclusive
        with np.errstate(over="ignore"):
            before = np.where(start > 0, csum[np.maximum(start - 1, 0)], np.uint64(0))
            h = (csum[end] - before) * ipw[start]
            h ^= (end - start + 1).astype(np.uint64) * _M2 + np.uint64(seed & (2**64 - 1))
            # tokens per title: token starts before each title's closing newline, differenced
            ends = np.searchsorted(start, np.r_[newlines, n])
            out.append((_mix(h), np.diff(ends, prepend=0)[: len(texts)]))
    return out


def token_hashes(
    texts: Sequence[str], seed: int = 0, spaced: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(64-bit token hashes, tokens per title)] for `\\w+` tokens (and whitespace tokens)."""
    parts: list[list[np.ndarray]] = [[] for _ in range(1 + spaced)]
    counts = [np.zeros(len(texts), dtype=np.int64) for _ in range(1 + spaced)]
    scratch = [np.zeros(0, np.uint64)]
    # chunks of about _CHUNK_CHARS characters (a hash does not depend on where a chunk starts)
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1)
    cuts = [0, *(np.flatnonzero(np.diff(ends // _CHUNK_CHARS)) + 1).tolist(), len(texts)]
    for lo, hi in pairwise(cuts):
        for k, (h, per_title) in enumerate(_chunk_tokens(texts[lo:hi], seed, scratch, spaced)):
            parts[k].append(h)
            counts[k][lo:hi] = per_title
    return [
        (np.concatenate(p) if p else np.zeros(0, np.uint64), c)
        for p, c in zip(parts, counts, strict=True)
    ]


def _perms(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Odd multipliers and offsets of the num_perm hash functions a*x+b (mod 2**32)."""
    rng = np.random.default_rng(seed)
    a = (rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) << np.uint32(1)) | np.uint32(1)
    return a, rng.integers(0, 2**32, size=num_perm, dtype=np.uint32)


def _blocks(counts: np.ndarray, step: int = 4096) -> list[tuple[int, np.ndarray]]:
    """Rows grouped by token count (k, rows): each block is a dense (k, rows) token matrix."""
    jobs = []
    for k in np.unique(counts[counts > 0]).tolist():
        rows = np.flatnonzero(counts == k)
        jobs += [(k, rows[i : i + step]) for i in range(0, len(rows), step)]
    return jobs


def _minhash_block(xt: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(num_perm, m) MinHash of a (k, m) token-hash block: one hash function at a time over it.

    Permutations outermost and a minimum down the k rows: 3x the speed of a running minimum
    over (m, num_perm) temporaries (measured, 4096-row blocks)."""
    out = np.empty((len(a), xt.shape[1]), dtype=np.uint32)
    tmp = np.empty_like(xt)
    with np.errstate(over="ignore"):
        for p in range(len(a)):
            np.multiply(xt, a[p], out=tmp)
            tmp += b[p]
            np.minimum.reduce(tmp, axis=0, out=out[p])
    return out


def signatures(
    hashes: np.ndarray, counts: np.ndarray, num_perm: int = NUM_PERM, seed: int = 0
) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures (empty titles: all 0xFFFFFFFF)."""
    keys = np.full((len(counts), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    _each_block(hashes, counts, num_perm, seed, lambda rows, sig: keys.__setitem__(rows, sig.T))
    return keys


def _each_block(
    hashes: np.ndarray,
    counts: np.ndarray,
    num_perm: int,
    seed: int,
    sink: Callable[[np.ndarray, np.ndarray], None],
) -> None:
    """Compute the (num_perm, m) signatures block by block on two threads, handing each to `sink`."""
    a, b = _perms(num_perm, seed)
    x = (hashes >> np.uint64(32)).astype(np.uint32)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))

    def run(job: tuple[int, np.ndarray]) -> None:
        """One block: gather its tokens, MinHash them, hand the result on."""
        k, rows = job
        sink(rows, _minhash_block(x[starts[rows] + np.arange(k)[:, None]], a, b))

    # numpy releases the GIL in these loops: two threads use both cores (one when the rows are
    # already split over processes)
    with ThreadPoolExecutor(threads()) as pool:
        list(pool.map(run, _blocks(counts)))


def lsh_keys(
    hashes: np.ndarray,
    counts: np.ndarray,
    bands: int = BANDS,
    num_perm: int = NUM_PERM,
    seed: int = 0,
) -> np.ndarray:
    """(bands, n) uint32 band keys straight from the blocks (the full signature is never held)."""
    n = len(counts)
    keys = np.empty((bands, n), dtype=np.uint32)
    empty = band_keys(np.full((1, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32), bands)
    keys[:, counts == 0] = empty

    def sink(rows: np.ndarray, sig: np.ndarray) -> None:
        """Band keys of one block into their columns."""
        keys[:, rows] = _band_keys_t(sig, bands)

    _each_block(hashes, counts, num_perm, seed, sink)
    return keys


def title_lsh_keys(texts: Sequence[str], seed: int = 0, n_workers: int | None = None) -> np.ndarray:
    """(bands, n) band keys of the titles' word sets; each column depends on its title only.

    `n_workers`: processes to fork (default: forkmap.workers(); 1 inside a Dask worker)."""
    parts = fork_map(_title_lsh_part, texts, seed, n_workers=n_workers)
    return joined(parts)[0]  # type: ignore[no-any-return]


def _title_lsh_part(texts: Sequence[str], seed: int) -> tuple[np.ndarray]:
    """title_lsh_keys of one part of the rows, in this process."""
    return (lsh_keys(*token_hashes(texts, seed)[0], seed=seed),)


# A Dask cluster takes over the MinHash/LSH step (generator/cluster.py): columns are independent
LSH_KEYS: ContextVar[Callable[[Sequence[str], int], np.ndarray] | None] = ContextVar(
    "LSH_KEYS", default=None
)


def band_keys(sig: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """(bands, n) uint32 bucket keys (32 bits: a rare collision only adds a candidate to check)."""
    return _band_keys_t(sig.T, bands)


def _band_keys_t(sig_t: np.ndarray, bands: int) -> np.ndarray:
    """band_keys of (num_perm, n) signatures."""
    num_perm, n = sig_t.shape
    rows = num_perm // bands
    block = sig_t[: bands * rows].reshape(bands, rows, n)
    with np.errstate(over="ignore"):
        key = np.zeros((bands, n), dtype=np.uint64)
        for c in range(rows):
            key = (key + block[:, c, :]) * _P
        return (key >> np.uint64(32)).astype(np.uint32)


def _band_pairs(key: np.ndarray) -> list[np.ndarray]:
    """Pairs of rows sharing a bucket in one band: one sort of key<<32|row, runs of equal keys."""
    n = len(key)
    packed = np.sort((key.astype(np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64))
    sk = packed >> np.uint64(32)
    order = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    same = np.flatnonzero(sk[1:] == sk[:-1])  # row i and i+1 share a bucket
    if not len(same):
        return []
    run_start = np.r_[True, same[1:] != same[:-1] + 1]
    first = same[run_start]
    size = np.diff(np.r_[np.flatnonzero(run_start), len(same)]) + 1
    two = first[size == 2]
    found = [np.stack([order[two], order[two + 1]], axis=1)]
    for s, m in zip(first[size > 2].tolist(), size[size > 2].tolist(), strict=True):
        members = order[s : s + m]  # sorted: the row is the low half of the sort key
        if m > MAX_BUCKET:
            found.append(np.stack([np.full(m - 1, members[0]), members[1:]], axis=1))
        else:
            iu, ju = np.triu_indices(m, k=1)
            found.append(np.stack([members[iu], members[ju]], axis=1))
    return found


def candidate_pairs(keys: np.ndarray) -> np.ndarray:
    """Unique (i, j), i < j, sharing a bucket in any band of (bands, n) keys, as (m, 2) int64."""
    n = keys.shape[1]
    with ThreadPoolExecutor(threads()) as pool:  # np.sort releases the GIL
        found = [p for band in pool.map(_band_pairs, keys) for p in band]
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    code = sorted_unique(np.concatenate([p[:, 0] * n + p[:, 1] for p in found]))
    return np.stack([code // n, code % n], axis=1)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique of a 1-D integer array by one sort (numpy's hash-based unique is slower here)."""
    a = np.sort(a, axis=None)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a
