"""Per-title batch work on both cores: the rows split in contiguous parts, one forked process each.

Cleaning, exact keys and token hashing are string work that holds the GIL, so threads cannot
share it; a forked child sees the parent's titles without copying them. A child sends its part
back as .npy arrays in a private temporary file (no pickle): arrays as they are, lists of
strings as one UTF-8 blob. Every function mapped here treats each row on its own, so the
joined parts equal one call over all rows, whatever the number of workers (tested).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np

MIN_ROWS = 20_000  # below this a fork costs more than the half it saves
_STATE = {"busy": False}  # inside a mapped call: the cores are taken, numpy helpers use 1 thread


def workers() -> int:
    """Processes for batch work: TITLEFORGE_WORKERS, else 2 (capped by the CPUs, 1 without fork)."""
    if not hasattr(os, "fork"):
        return 1
    want = os.environ.get("TITLEFORGE_WORKERS", "").strip()
    n = int(want) if want.isdigit() and int(want) > 0 else 2
    return max(1, min(n, os.cpu_count() or 1))


def threads() -> int:
    """Threads a numpy helper may use now: 1 while the rows are already split over processes."""
    return 1 if _STATE["busy"] else 2


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (forked workers included)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _pack(result: tuple[Any, ...]) -> list[np.ndarray]:
    """A result tuple as arrays: each array as is, each list of str/None as mask + blob (+ lengths)."""
    out = [np.array([isinstance(x, np.ndarray) for x in result])]
    for item in result:
        if isinstance(item, np.ndarray):
            out.append(item)
            continue
        none = np.fromiter((s is None for s in item), dtype=bool, count=len(item))
        strs = [s for s in item if s is not None]
        joined = "\n".join(strs)
        # titles without newlines (cleaned text, keys) split on "\n"; others need their lengths
        lengths = (
            np.zeros(0, np.int64)
            if joined.count("\n") == max(len(strs) - 1, 0)
            else np.fromiter(map(len, strs), dtype=np.int64, count=len(strs))
        )
        out += [none, np.frombuffer(joined.encode("utf-8", "surrogatepass"), np.uint8), lengths]
    return out


def _unpack(arrays: list[np.ndarray]) -> tuple[Any, ...]:
    """The result tuple back from `_pack`'s arrays."""
    kinds, rest, out = arrays[0].tolist(), arrays[1:], []
    for is_array in kinds:
        if is_array:
            out.append(rest.pop(0))
            continue
        none, blob, lengths = rest[:3]
        rest = rest[3:]
        text = blob.tobytes().decode("utf-8", "surrogatepass")
        if not len(lengths):
            strs = text.split("\n") if (~none).any() else []
        else:
            ends = np.cumsum(lengths).tolist()
            strs = [text[e - k : e] for e, k in zip(ends, lengths.tolist(), strict=True)]
        if none.any():
            it = iter(strs)
            out.append([None if gone else next(it) for gone in none.tolist()])
        else:
            out.append(strs)
    return tuple(out)


def _child(path: str, fn: Callable[..., tuple[Any, ...]], part: Sequence[Any], args: Any) -> None:
    """Run in the forked child: compute the part, write it, leave without cleanup handlers."""
    code = 1
    try:
        arrays = _pack(fn(part, *args))
        with open(path, "wb") as f:
            np.save(f, np.array([len(arrays)]), allow_pickle=False)
            for a in arrays:
                np.save(f, a, allow_pickle=False)
        code = 0
    except BaseException:  # the parent recomputes this part and raises there, with context
        pass
    finally:
        os._exit(code)


def _read(path: str) -> tuple[Any, ...]:
    """A child's part back from its file."""
    with open(path, "rb") as f:
        count = int(np.load(f, allow_pickle=False)[0])
        return _unpack([np.load(f, allow_pickle=False) for _ in range(count)])


def fork_map(
    fn: Callable[..., tuple[Any, ...]],
    rows: Sequence[Any],
    *args: Any,
    n_workers: int | None = None,
) -> list[tuple[Any, ...]]:
    """fn(part, *args) for contiguous parts of `rows`, the first here and the others in forked
    children at the same time; the parts' results in order. fn returns a tuple of numpy arrays
    and lists of str/None."""
    n_workers = n_workers or workers()
    if n_workers < 2 or len(rows) < MIN_ROWS or _STATE["busy"]:
        return [fn(rows, *args)]
    cuts = [len(rows) * k // n_workers for k in range(n_workers + 1)]
    parts = [rows[cuts[k] : cuts[k + 1]] for k in range(n_workers)]
    with tempfile.TemporaryDirectory(prefix="titleforge-") as tmp:
        children = []
        _STATE["busy"] = True
        try:
            for k in range(1, n_workers):
                path = os.path.join(tmp, f"part{k}.npy")
                pid = os.fork()
                if pid == 0:
                    _child(path, fn, parts[k], args)
                children.append((pid, path, k))
            out = [fn(parts[0], *args)]
        finally:
            _STATE["busy"] = False
            codes = {k: os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid, _, k in children}
        for _, path, k in children:
            # a child that failed (memory, a signal, an error): redo its part here, where an
            # error surfaces as it would without workers
            out.append(_read(path) if codes[k] == 0 else fn(parts[k], *args))
    return out


def joined(parts: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The parts' results joined item by item: lists end to end, arrays along their last axis."""
    if len(parts) == 1:
        return parts[0]
    out: list[Any] = []
    for items in zip(*parts, strict=True):
        if isinstance(items[0], np.ndarray):
            out.append(np.concatenate(items, axis=-1))
        else:
            out.append(list(chain.from_iterable(items)))  # C speed: no per-row Python step
    return tuple(out)
