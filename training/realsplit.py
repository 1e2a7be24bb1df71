"""The real-data protocol: a selection part that drives choices and a sealed test part read once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import CountVectorizer

from training.errors import DataError

_WORD = re.compile(r"\w+")


class SealedError(RuntimeError):
    """The real test part was asked for before the final evaluation."""


@dataclass
class SealedTest:
    """The real test part: opened once, by the final evaluation, and every read is recorded."""

    _data: Dataset
    reads: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        """Titles in the test part (counting them reads no title)."""
        return len(self._data)

    def per_label(self, names: Sequence[str]) -> dict[str, int]:
        """Test titles per label (labels only, no text: safe to report before the final read)."""
        counts = np.bincount(np.asarray(self._data["label"], dtype=int), minlength=len(names))
        return {name: int(n) for name, n in zip(names, counts, strict=True)}

    def open(self, purpose: str) -> Dataset:
        """The test titles, for the final evaluation only; a second read is refused."""
        if self.reads:
            raise SealedError(
                f"the real test part was already read by {self.reads[0]!r}; "
                f"{purpose!r} must use the selection part"
            )
        self.reads.append(purpose)
        return self._data


@dataclass
class RealParts:
    """Real, human-labelled data split into a selection part and a sealed test part."""

    selection: Dataset
    test: SealedTest
    seed: int
    selection_fraction: float

    def describe(self, names: Sequence[str]) -> dict[str, object]:
        """How the real data was split, for report.json (no titles)."""
        sel = np.bincount(np.asarray(self.selection["label"], dtype=int), minlength=len(names))
        return {
            "seed": self.seed,
            "selection_fraction": self.selection_fraction,
            "selection": {
                "n": len(self.selection),
                "per_label": dict(zip(names, map(int, sel), strict=True)),
            },
            "test": {"n": len(self.test), "per_label": self.test.per_label(names)},
        }


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.8) -> np.ndarray:
    """A group id per title: each title joins the first earlier leader it near-duplicates.

    Leaders, not transitive closure: on templated titles chains of near duplicates would
    otherwise merge everything into one group and make a stratified split impossible.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=int)
    vec = CountVectorizer(
        lowercase=True, binary=True, token_pattern=_WORD.pattern, dtype=np.float32
    )
    x: csr_matrix = vec.fit_transform(texts)
    sizes = np.asarray(x.sum(axis=1)).ravel()
    group = np.arange(n)
    is_leader = np.zeros(n, dtype=bool)
    for start in range(0, n, 512):
        # shared words of a block of rows against all rows, dense: bounded memory, vectorised
        shared = (x[start : start + 512] @ x.T).toarray()
        near = shared >= threshold * np.maximum(
            sizes[start : start + 512, None] + sizes - shared, 1
        )
        for k, row in enumerate(near):
            i = start + k
            hits = np.flatnonzero(row[:i] & is_leader[:i])
            if hits.size:
                group[i] = hits[0]
            else:
                is_leader[i] = True
    return group


def split_real(
    real: Dataset,
    *,
    selection_fraction: float = 0.5,
    seed: int = 0,
    near_threshold: float = 0.8,
) -> RealParts:
    """Stratified, seeded split that keeps near-duplicate real titles on the same side."""
    if not 0 < selection_fraction < 1:
        raise DataError(
            f"real selection fraction {selection_fraction} must be between 0 and 1 (e.g. 0.5)."
        )
    labels = np.asarray(real["label"], dtype=int)
    groups = near_duplicate_groups(real["text"], near_threshold)
    rng = np.random.default_rng(seed)
    selected = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        leaders, sizes = np.unique(groups[members], return_counts=True)
        # seeded order, largest groups first; each goes whole to the side further below target
        order = rng.permutation(len(leaders))
        order = order[np.argsort(-sizes[order], kind="stable")]
        want_sel = len(members) * selection_fraction
        have_sel = have_test = 0
        for k in order:
            to_selection = want_sel - have_sel >= (len(members) - want_sel) - have_test
            selected[members[groups[members] == leaders[k]]] = to_selection
            if to_selection:
                have_sel += sizes[k]
            else:
                have_test += sizes[k]
    # a group spanning labels must not straddle the parts: it follows its leader's side
    selected = selected[groups]
    sel_idx, test_idx = np.flatnonzero(selected), np.flatnonzero(~selected)
    return RealParts(
        selection=real.select(sel_idx.tolist()),
        test=SealedTest(real.select(test_idx.tolist())),
        seed=seed,
        selection_fraction=selection_fraction,
    )
