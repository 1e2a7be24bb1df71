"""Frozen-encoder embeddings over partitions on a Dask cluster: the same rows as one local call.

The flow process tokenises (fast, and it needs the lengths) and cuts the length-sorted order
into whole batches of the local `FrozenEncoderLogReg.embed`; workers run those very batches, so
every title is embedded in the same padded batch as it would be locally.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
from distributed import Client

from training.labelnoise import EMBED_BATCH_SIZE, EMBED_MAX_LENGTH

if TYPE_CHECKING:
    from training.baselines import FrozenEncoderLogReg

# a partition's token ids as one flat int32 array and its row lengths: two buffers on the wire,
# where a list of lists (or of strings) is pickled item by item
Packed = tuple[np.ndarray, np.ndarray]

_ENCODERS: dict[tuple[str, int], FrozenEncoderLogReg] = {}
_ENCODERS_LOCK = threading.Lock()


def _worker_encoder(encoder: str, batch_size: int) -> FrozenEncoderLogReg:
    """One loaded encoder per path (and batch size) per worker process, shared by its threads."""
    with _ENCODERS_LOCK:  # two partitions arriving at once must not load the weights twice
        key = (encoder, batch_size)
        if key not in _ENCODERS:
            from training.baselines import FrozenEncoderLogReg

            _ENCODERS[key] = FrozenEncoderLogReg(encoder, batch_size=batch_size)
        return _ENCODERS[key]


def flatten(ids: Sequence[Sequence[int]]) -> Packed:
    """All tokenised titles as (flat ids, lengths), in C loops rather than one per token."""
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
    return flat, lengths


def pack(flat: np.ndarray, lengths: np.ndarray, rows: np.ndarray) -> Packed:
    """Rows `rows` of flattened titles, in that order, as their own (flat ids, lengths)."""
    picked = lengths[rows]
    starts = np.cumsum(lengths) - lengths  # where each title begins in `flat`
    begins = np.cumsum(picked) - picked  # where it begins in the partition
    return flat[np.repeat(starts[rows] - begins, picked) + np.arange(int(picked.sum()))], picked


def unpack(packed: Packed) -> list[np.ndarray]:
    """The rows of token ids back from `pack`."""
    flat, lengths = packed
    return np.split(flat, np.cumsum(lengths)[:-1])


def embed_partition(packed: Packed, encoder: str, rows_per_batch: int) -> np.ndarray:
    """Run on a worker: (rows, hidden) float32 embeddings of one partition, rows as packed."""
    return _worker_encoder(encoder, rows_per_batch).embed_ids(unpack(packed))


def batch_partitions(lengths: np.ndarray, batch_size: int, parts: int) -> list[np.ndarray]:
    """Row indices per partition: the local length-sorted batches dealt out round-robin.

    Each partition's rows stay in ascending length, so its own stable sort keeps them in place
    and cuts exactly these batches again. Dealing (not slicing) mixes short and long batches,
    so no worker gets all the longest titles.
    """
    order = np.argsort(lengths, kind="stable")  # as training.batching.run_sorted sorts
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    # the short last batch is the last one dealt, so it ends its partition as it ends the order
    return [np.concatenate(batches[k::parts]) for k in range(min(parts, len(batches)))]


class ClusterEmbedder:
    """Mean-pooled frozen-encoder embeddings mapped over partitions on the cluster's workers."""

    def __init__(
        self,
        client: Client,
        min_rows: int = 1_000,
        batch_size: int = EMBED_BATCH_SIZE,
        max_length: int = EMBED_MAX_LENGTH,
    ) -> None:
        """Partitions of at least `min_rows` titles, at most two per worker.

        Per worker, not per thread: a worker's threads are sized for calls waiting on Ollama,
        while the encoder is CPU work; a smaller partition costs more in overhead than it saves.
        """
        self.client, self.min_rows = client, min_rows
        self.batch_size, self.max_length = batch_size, max_length
        self.max_parts = 2 * (len(client.nthreads()) or 1)

    def __call__(self, encoder: str, texts: Sequence[str]) -> np.ndarray:
        """(n, hidden) float32 embeddings of `texts`, row for row, computed on the workers."""
        from training.model import load_tokenizer
        from training.predict import token_ids

        ids = token_ids(texts, load_tokenizer(encoder), self.max_length)
        n = len(ids)
        if not n:
            from transformers import AutoConfig

            return np.zeros((0, AutoConfig.from_pretrained(encoder).hidden_size), np.float32)
        flat, lengths = flatten(ids)
        parts = max(1, min(-(-n // self.min_rows), self.max_parts))
        rows = batch_partitions(lengths, self.batch_size, parts)
        # scattered, the partitions go straight to the workers instead of through the scheduler
        chunks = self.client.scatter([pack(flat, lengths, r) for r in rows])
        # not `batch_size=`: Client.map takes that keyword for itself
        futures = self.client.map(
            embed_partition, chunks, encoder=encoder, rows_per_batch=self.batch_size, pure=False
        )
        done = self.client.gather(futures)
        out = np.empty((n, done[0].shape[1]), dtype=np.float32)
        for r, emb in zip(rows, done, strict=True):
            out[r] = emb
        return out
