"""Flow parameters: one pydantic model per flow; Prefect validates them and the UI builds its form."""

from __future__ import annotations

from copy import copy
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from training.config import FinetuneConfig


class RealDataOptions(BaseModel):
    """Where the real, human-labelled evaluation data lives and how to read it."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        description="CSV, JSONL or Parquet file, a saved dataset directory, or a Hub dataset id."
    )
    text_column: str = Field("text", description="Column holding the title text.")
    label_column: str = Field("label", description="Column holding the label.")
    label_map: str | None = Field(
        None,
        description="Map raw label values to task labels, e.g. '1=clickbait,0=factual'. "
        "Leave empty when the file already uses the task's label names.",
    )


class GenerateConfig(BaseModel):
    """Parameters of the `generate_dataset` flow: LLM generation through to the saved dataset."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        "clickbait",
        description="Task spec: a name from prompts/ (clickbait, news_topic) or a path to a YAML file.",
    )
    per_label: int = Field(
        500, ge=1, le=1_000_000, description="Clean, deduplicated titles wanted per label."
    )
    workdir: str = Field(
        description="Run directory: raw.jsonl, clean.jsonl, dataset/, report.json live here. "
        "`{round}` becomes a new round id (UTC time and seed), so each run gets its own directory."
    )
    seed: int | None = Field(
        None,
        ge=0,
        description="Seed for prompt sampling, LLM options, balancing and split; empty draws a "
        "fresh one for a new round (a resumed directory keeps its recorded seed).",
    )
    llm: Literal["ollama", "embedded"] = Field(
        "ollama",
        description="Who writes the titles: `ollama` (a running Ollama server; the production "
        "path) or `embedded` (SmolLM2-135M run in-process behind the same Ollama API, for "
        "trying the pipeline on a machine without Ollama; not for production data).",
    )
    model: str | None = Field(
        None,
        description="Ollama model; empty uses the task spec's model (phi3 by default). "
        "Not used with llm=embedded.",
    )
    ollama_host: str | None = Field(
        None,
        description="Ollama URL(s), comma-separated to spread work; empty uses OLLAMA_HOST or "
        "http://127.0.0.1:11434.",
    )
    dask_address: str | None = Field(
        None,
        description="Scale out on Dask: `tcp://host:8786` of a running `dask scheduler` (its "
        "workers make the LLM calls and the MinHash signatures; each call keeps its Ollama "
        "host), or `local:N` for N worker processes on this machine. Empty runs everything in "
        "this process. The same seed gives the same dataset either way.",
    )
    concurrency: int | None = Field(
        None,
        ge=1,
        le=256,
        description="LLM calls in flight; empty sizes it to the servers' parallel slots.",
    )
    max_calls: int | None = Field(
        None,
        ge=1,
        description="Hard budget on LLM calls so a broken prompt cannot loop forever; "
        "empty derives it from the quota.",
    )
    timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds to wait for one LLM reply (a small model writes 10 titles in well "
        "under a minute); two silent replies in a row stop the run as a hung server.",
    )
    near_dup_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Titles whose casefolded word sets have Jaccard similarity at or above this "
        "are near duplicates (MinHash/LSH finds candidates, exact Jaccard decides).",
    )
    real_data: RealDataOptions | None = Field(
        None,
        description="Real evaluation data: synthetic titles too close to it are dropped "
        "(contamination guard), and the audit compares feature rates with it.",
    )
    neutralise: bool = Field(
        False,
        description="Rewrite or drop what the shortcut audit flags until the probe is near chance.",
    )
    label_noise: Literal["off", "report", "drop"] = Field(
        "report",
        description="Label-noise check (cross-validated probe + cleanlab): report the titles whose "
        "label it confidently contradicts, drop them (reason `label_noise`), or skip the check.",
    )
    label_noise_encoder: str | None = Field(
        None,
        description="Frozen encoder for the label-noise probe (Hub id or local path); empty uses "
        "character n-gram TF-IDF, which needs no model.",
    )
    guidance: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Extra prompt lines per label (feedback rounds fill this from the previous "
        "round's mistakes on the real selection part; real titles are never quoted).",
    )
    carry_from: str | None = Field(
        None,
        description="A previous round's dataset directory whose titles join this round's "
        "(deduplicated union); feedback rounds set it.",
    )
    balance: Literal["downsample", "none"] = Field(
        "downsample", description="How to balance labels before splitting."
    )
    split_ratios: tuple[float, float, float] = Field(
        (0.8, 0.1, 0.1), description="Train, validation and test fractions."
    )
    hub_repo: str | None = Field(
        None,
        description="Push the dataset to this Hub repo (user/name); the token comes from "
        "HF_TOKEN only.",
    )
    private: bool = Field(False, description="Create the Hub repo as private.")

    @field_validator("split_ratios")
    @classmethod
    def _ratios_sum_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        """Reject split ratios that do not add up to 1."""
        if any(r <= 0 for r in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(
                f"split_ratios {v} must be three positive numbers adding up to 1, e.g. (0.8, 0.1, 0.1)"
            )
        return v

    @field_validator("ollama_host")
    @classmethod
    def _hosts_are_urls(cls, v: str | None) -> str | None:
        """Each host must be http(s)://name[:port] with a port from 1 to 65535."""
        from urllib.parse import urlsplit

        from generator.ollama_backend import normalise_host

        for raw in (v or "").split(","):
            if not raw.strip():
                continue
            parts = urlsplit(normalise_host(raw))
            try:
                port = parts.port or 0
            except ValueError:  # out of range or not a number
                port = 0
            if parts.scheme not in ("http", "https") or not parts.hostname or not 0 < port < 65536:
                raise ValueError(
                    f"ollama_host {raw.strip()!r} is not a server address: use e.g. "
                    "http://127.0.0.1:11434 (port 1-65535)"
                )
        return v

    @field_validator("dask_address")
    @classmethod
    def _dask_address_shape(cls, v: str | None) -> str | None:
        """`local:N` (1-64 workers) or a scheduler URL such as tcp://host:8786."""
        if not v:
            return None
        v = v.strip()
        scheme, _, rest = v.partition("://" if "://" in v else ":")
        if scheme == "local" and rest.isdigit() and 1 <= int(rest) <= 64:
            return v
        if scheme in ("tcp", "tls", "ucx", "ws", "wss") and "://" in v and rest.strip("/"):
            return v
        raise ValueError(
            f"dask_address {v!r} is neither a scheduler address nor local:N: use e.g. "
            "tcp://10.0.0.5:8786 (where `dask scheduler` runs) or local:2 (2 workers here)"
        )

    @field_validator("hub_repo")
    @classmethod
    def _repo_id_shape(cls, v: str | None) -> str | None:
        """Reject Hub repo ids that are not `user/name`."""
        if v is not None and (v.count("/") != 1 or not all(v.split("/"))):
            raise ValueError(f"hub_repo {v!r} must look like 'user/name'")
        return v

    @model_validator(mode="after")
    def _embedded_has_one_model(self) -> GenerateConfig:
        """The embedded LLM serves one model: reject another model name rather than ignore it."""
        if self.llm == "embedded" and self.model:
            raise ValueError(
                f"model={self.model!r} cannot be used with llm='embedded', which runs its own "
                "SmolLM2-135M in-process: drop --model, or use --llm ollama to run that model"
            )
        return self

    @model_validator(mode="after")
    def _dask_needs_ollama(self) -> GenerateConfig:
        """Workers reach Ollama servers over the network; the embedded model lives in this process."""
        if self.dask_address and self.llm == "embedded":
            raise ValueError(
                "dask_address needs llm='ollama': the embedded model runs inside this process, "
                "where Dask workers cannot call it. Drop --dask-address, or pass --ollama-host "
                "with your Ollama servers"
            )
        return self

    @model_validator(mode="after")
    def _private_needs_repo(self) -> GenerateConfig:
        """`private` only means something with a Hub repo."""
        if self.private and not self.hub_repo:
            raise ValueError("private=True needs hub_repo (pass --hub-repo user/name)")
        return self


def resolve_workdir(template: str, now: datetime | None = None) -> str:
    """Fill `{date}` / `{datetime}` in a workdir (`{round}` is filled by flows.rounds)."""
    now = now or datetime.now(UTC)
    return template.replace("{date}", now.strftime("%Y-%m-%d")).replace(
        "{datetime}", now.strftime("%Y%m%dT%H%M%S")
    )


def _finetune_field(name: str) -> Any:
    """A copy of FinetuneConfig's field `name`, so the pipeline form and `train` agree."""
    return copy(FinetuneConfig.model_fields[name])


class TrainOptions(BaseModel):
    """Training choices of the pipeline; the dataset, workdir and real data come from generation."""

    model_config = ConfigDict(extra="forbid")

    # the same fields as the finetune flow's (defaults, limits, descriptions): defined once there
    base_model: str = _finetune_field("base_model")
    epochs: float = _finetune_field("epochs")
    batch_size: int = _finetune_field("batch_size")
    learning_rate: float = _finetune_field("learning_rate")
    head: Literal["finetune", "logistic"] = _finetune_field("head")
    hub_model: str | None = Field(
        None,
        description="Push the model here (user/name) unless its verdict is `overfit`; token from HF_TOKEN.",
    )


class PipelineConfig(BaseModel):
    """Parameters of the `pipeline` flow: one run directory filled end to end."""

    model_config = ConfigDict(extra="forbid")

    generate: GenerateConfig = Field(
        description="Dataset generation (task, quota, Ollama, real data, Hub)."
    )
    train: TrainOptions = Field(default_factory=TrainOptions, description="Finetuning options.")
    learn_from_previous: bool = Field(
        True,
        description="Feedback rounds: steer this round's prompts by the previous round's mistakes "
        "on the real selection part, and carry its titles forward (deduplicated union).",
    )
    fail_on_overfit: bool = Field(
        True,
        description="Mark the run Failed when the model's verdict is `overfit` (it is never pushed).",
    )
