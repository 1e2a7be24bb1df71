"""A tiny ALBERT built from its config with a tokenizer trained on the fly, and toy title data: no downloads."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AlbertConfig,
    AlbertModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def toy_titles(n_per_label: int, seed: int, artefact: bool = False) -> tuple[list[str], list[str]]:
    """Clickbait-ish vs factual-ish titles; with `artefact`, clickbait ends in '!' and factual does not."""
    rng = random.Random(seed)
    people = [
        "teacher",
        "nurse",
        "mom",
        "dad",
        "chef",
        "farmer",
        "pilot",
        "coach",
        "doctor",
        "student",
    ]
    things = [
        "coffee",
        "sleep",
        "rent",
        "garden",
        "laundry",
        "savings",
        "breakfast",
        "skin",
        "closet",
        "phone",
    ]
    orgs = [
        "council",
        "regulators",
        "officials",
        "researchers",
        "agency",
        "ministry",
        "bank",
        "board",
        "court",
        "union",
    ]
    acts = [
        "approves",
        "rejects",
        "delays",
        "announces",
        "reviews",
        "expands",
        "funds",
        "proposes",
        "suspends",
        "completes",
    ]
    subj = [
        "road budget",
        "bridge plan",
        "rental rules",
        "water upgrade",
        "bus contract",
        "air study",
        "fishing limits",
    ]
    texts, labels = [], []
    for _ in range(n_per_label):
        t = f"you won't believe what this {rng.choice(people)} did with {rng.choice(things)}"
        texts.append(t + (" !" if artefact else ""))
        labels.append("clickbait")
        f = f"{rng.choice(orgs)} {rng.choice(acts)} {rng.choice(subj)} after vote"
        texts.append(f)
        labels.append("factual")
    return texts, labels


def make_dataset_dict(n_per_label: int = 60, seed: int = 0, artefact: bool = False) -> DatasetDict:
    """train/validation/test with a ClassLabel."""
    feats = Features({"text": Value("string"), "label": ClassLabel(names=["clickbait", "factual"])})
    out = {}
    for i, (split, n) in enumerate(
        {"train": n_per_label, "validation": n_per_label // 4, "test": n_per_label // 4}.items()
    ):
        texts, labels = toy_titles(n, seed + i, artefact)
        out[split] = Dataset.from_dict(
            {"text": texts, "label": [0 if lb == "clickbait" else 1 for lb in labels]},
            features=feats,
        )
    return DatasetDict(out)


def build_tiny_albert(path: Path) -> Path:
    """Save a 2-layer ALBERT base model + WordPiece tokenizer at `path`, usable as --base-model."""
    corpus, _ = toy_titles(300, 99, artefact=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        corpus, trainers.WordPieceTrainer(vocab_size=400, special_tokens=SPECIAL)
    )
    fast = bert_style_tokenizer(tok, max_length=64)
    fast.save_pretrained(path)
    save_random_albert(
        path,
        fast,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return path


def save_random_albert(path: Path, tokenizer: PreTrainedTokenizerBase, **dims: int) -> None:
    """Save an ALBERT encoder built from its config (seed 0) beside `tokenizer`'s files."""
    cfg = AlbertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **dims)
    torch.manual_seed(0)
    AlbertModel(cfg).save_pretrained(path)


def bert_style_tokenizer(tok: Tokenizer, max_length: int) -> PreTrainedTokenizerFast:
    """Wrap a WordPiece `tokenizers.Tokenizer` as a lower-casing BERT-style fast tokenizer."""
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
