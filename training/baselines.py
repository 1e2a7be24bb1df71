"""Cheap baselines on the same synthetic train split: majority class, TF-IDF + LR, frozen encoder + LR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from training.batching import run_sorted
from training.model import load_tokenizer
from training.predict import length_sorted_batches, pad_id


class Majority:
    """Always predicts the most frequent training label."""

    def fit(self, texts: Sequence[str], y: Sequence[int]) -> Majority:
        """Remember the majority label."""
        self.label = int(np.bincount(np.asarray(y)).argmax())
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The majority label for every text."""
        return np.full(len(texts), self.label)


class TfidfLogReg:
    """Word 1-2 grams + char 2-5 grams TF-IDF, logistic regression."""

    def __init__(self, seed: int = 0) -> None:
        """Two vectorisers and a seeded classifier."""
        self.words = TfidfVectorizer(
            ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True
        )
        self.clf = LogisticRegression(max_iter=2000, C=4.0, random_state=seed)

    def _x(self, texts: Sequence[str], fit: bool = False) -> Any:
        if fit:
            return hstack(
                [self.words.fit_transform(texts), self.chars.fit_transform(texts)]
            ).tocsr()
        return hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()

    def fit(self, texts: Sequence[str], y: Sequence[int]) -> TfidfLogReg:
        """Fit vectorisers and classifier."""
        self.clf.fit(self._x(texts, fit=True), y)
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted label ids."""
        return self.clf.predict(self._x(texts))


class FrozenEncoderLogReg:
    """Mean-pooled hidden states of the (not finetuned) base encoder + logistic regression."""

    def __init__(
        self, base_model: str, seed: int = 0, batch_size: int = 64, max_length: int = 64
    ) -> None:
        """Load the bare encoder once."""
        from transformers import AutoModel

        self.tokenizer = load_tokenizer(base_model)
        self.encoder = AutoModel.from_pretrained(base_model, trust_remote_code=False).eval()
        self.batch_size, self.max_length = batch_size, max_length
        self.clf = LogisticRegression(max_iter=2000, random_state=seed)

    @torch.inference_mode()
    def _pooled(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Mean-pooled hidden states of one padded batch."""
        mask_t = torch.from_numpy(attention_mask)
        hidden = self.encoder(input_ids=torch.from_numpy(input_ids), attention_mask=mask_t)
        mask = mask_t.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
        pooled = (hidden.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1)
        return pooled.float().numpy()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, hidden) mean-pooled embeddings."""
        return length_sorted_batches(
            texts,
            self.tokenizer,
            self.batch_size,
            self.max_length,
            self.encoder.config.hidden_size,
            self._pooled,
        )

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """(n, hidden) embeddings of titles tokenised as `embed` tokenises (predict.token_ids)."""
        width = self.encoder.config.hidden_size
        return run_sorted(ids, pad_id(self.tokenizer), self.batch_size, width, self._pooled)

    def fit(self, texts: Sequence[str], y: Sequence[int]) -> FrozenEncoderLogReg:
        """Fit the probe on frozen embeddings."""
        self.clf.fit(self.embed(texts), y)
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted label ids."""
        return self.clf.predict(self.embed(texts))


class FastTextBaseline:
    """fastText (supervised, word bigrams + char n-grams): the cheap classifier the Phi-3 article names.

    One thread and a fixed seed make it deterministic; the train file is a temp file because
    fastText only reads files.
    """

    def __init__(self, seed: int = 0, epochs: int = 25) -> None:
        """Hyper-parameters that suit short titles (a few thousand lines)."""
        self.seed, self.epochs = seed, epochs
        self.model: Any = None

    @staticmethod
    def _line(text: str) -> str:
        """One title as fastText reads it: one lower-cased line."""
        return " ".join(text.lower().split())

    def fit(self, texts: Sequence[str], y: Sequence[int]) -> FastTextBaseline:
        """Train on a temp file of `__label__<id> text` lines."""
        import tempfile

        import fasttext

        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as fh:
            fh.writelines(
                f"__label__{int(lb)} {self._line(t)}\n" for t, lb in zip(texts, y, strict=True)
            )
            fh.flush()
            opts = dict(epoch=self.epochs, wordNgrams=2, minn=2, maxn=4, dim=50, seed=self.seed)
            for lr in (0.5, 0.1):  # a tiny or degenerate train set can diverge at 0.5
                try:
                    self.model = fasttext.train_supervised(
                        fh.name, lr=lr, thread=1, verbose=0, **opts
                    )
                    break
                except RuntimeError as exc:
                    if "NaN" not in str(exc) or lr == 0.1:
                        raise
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted label ids."""
        labels, _ = self.model.predict([self._line(t) for t in texts])
        return np.array([int(lbs[0].removeprefix("__label__")) for lbs in labels])
