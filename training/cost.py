"""Cost and throughput: what the data and the model cost, set against an API LLM (the Phi-3 article).

Every figure is measured in the run (tokens and calls from raw.jsonl's summary, training
samples/s from the trainer, inference titles/s timed here); only the two prices are assumptions,
and both are options, printed next to the result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def measure_inference(predict: Callable[[Sequence[str]], Any], texts: Sequence[str]) -> float:
    """Titles per second of `predict` over `texts` (one warm-up batch first: lazy init is not speed)."""
    predict(list(texts[:8]))
    t0 = time.perf_counter()
    predict(list(texts))
    return len(texts) / max(time.perf_counter() - t0, 1e-9)


def cost_block(
    dataset: Mapping[str, Any] | None,
    training: Mapping[str, Any],
    titles_per_s: float,
    *,
    instance_usd_per_hour: float,
    api_usd_per_million_tokens: float,
    api_tokens_per_title: int,
    vcpus: int | None = None,
) -> dict[str, Any]:
    """report.json `cost`: generation, training and inference throughput, and $ per million titles."""
    vcpus = vcpus or os.cpu_count() or 1
    per_second_usd = instance_usd_per_hour / 3600
    out: dict[str, Any] = {
        "assumptions": {
            "instance_usd_per_hour": instance_usd_per_hour,
            "vcpus": vcpus,
            "api_usd_per_million_tokens": api_usd_per_million_tokens,
            "api_tokens_per_title": api_tokens_per_title,
        }
    }
    ds = dataset or {}
    kept, calls, tokens = (
        ds.get("kept"),
        (ds.get("calls") or {}).get("total"),
        ds.get("eval_tokens"),
    )
    if kept and calls and tokens:
        gen_s = ds.get("generation_s")
        out["generation"] = {
            "llm_tokens_per_kept_title": round(tokens / kept, 2),
            "kept_titles_per_call": round(kept / calls, 3),
            "seconds_per_kept_title": round(gen_s / kept, 4) if gen_s else None,
            # what the same tokens would cost from an API LLM
            "api_usd_for_dataset": round(tokens * api_usd_per_million_tokens / 1e6, 4),
        }
    out["training"] = {"samples_per_second": training.get("samples_per_second")}
    ours = per_second_usd / titles_per_s * 1e6
    api = api_tokens_per_title * api_usd_per_million_tokens
    out["inference"] = {
        "titles_per_second": round(titles_per_s, 1),
        "titles_per_second_per_vcpu": round(titles_per_s / vcpus, 1),
        "usd_per_million_predictions": round(ours, 4),
        "api_llm_usd_per_million_predictions": round(api, 2),
        "api_over_ours": round(api / ours, 1) if ours > 0 else None,
    }
    return out


def render_cost_md(cost: Mapping[str, Any] | None) -> str:
    """The cost section of report.md ('' when absent)."""
    if not cost:
        return ""
    a, inf = cost["assumptions"], cost["inference"]
    lines = [
        "## Cost and throughput",
        "",
        f"Assumed: ${a['instance_usd_per_hour']}/hour for this {a['vcpus']}-vCPU machine; an API "
        f"LLM at ${a['api_usd_per_million_tokens']} per million tokens, "
        f"{a['api_tokens_per_title']} tokens per title classified.",
        "",
        "| measure | value |",
        "|---|---:|",
    ]
    gen = cost.get("generation") or {}
    for key in ("llm_tokens_per_kept_title", "kept_titles_per_call", "seconds_per_kept_title"):
        if gen.get(key) is not None:
            lines.append(f"| generation: {key.replace('_', ' ')} | {gen[key]} |")
    if gen:
        lines.append(
            f"| generation: API price of the same tokens ($) | {gen['api_usd_for_dataset']} |"
        )
    sps = (cost.get("training") or {}).get("samples_per_second")
    if sps:
        lines.append(f"| training: samples/s | {sps} |")
    lines += [
        f"| inference: titles/s ({a['vcpus']} vCPU) | {inf['titles_per_second']} |",
        f"| inference: titles/s per vCPU | {inf['titles_per_second_per_vcpu']} |",
        f"| $ per million predictions, this model | {inf['usd_per_million_predictions']} |",
        f"| $ per million predictions, API LLM | {inf['api_llm_usd_per_million_predictions']} |",
        f"| API LLM / this model | {inf['api_over_ours']}x |",
    ]
    return "\n".join(lines) + "\n"
