"""CLI commands that make and use models: train, predict, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_common import (
    BaseModelOpt,
    EpochsOpt,
    HeadOpt,
    HubModelOpt,
    NoPrefectOpt,
    PrivateOpt,
    RealLabelOpt,
    RealMapOpt,
    RealOpt,
    RealTextOpt,
    SeedOpt,
    WorkdirOpt,
    app,
    check_base_model,
    check_dataset,
    check_workdir,
    friendly_errors,
    need_hub_token,
    open_run_log,
    out,
    running_flow,
    user_error,
    validated,
)


def _finetune_config(**kwargs: Any) -> Any:
    """A validated FinetuneConfig from CLI options."""
    from training.config import FinetuneConfig

    return validated(FinetuneConfig, **kwargs)


@app.command()
def train(
    dataset: Annotated[
        str, typer.Option(help="Labelled dataset: saved DatasetDict dir, file, or Hub id.")
    ],
    workdir: WorkdirOpt,
    base_model: BaseModelOpt = "albert/albert-base-v2",
    epochs: EpochsOpt = 3.0,
    head: HeadOpt = "finetune",
    seed: SeedOpt = 0,
    real_data: RealOpt = None,
    real_text_column: RealTextOpt = "text",
    real_label_column: RealLabelOpt = "label",
    real_label_map: RealMapOpt = None,
    hub_model: HubModelOpt = None,
    private: PrivateOpt = False,
    no_prefect: NoPrefectOpt = False,
    tasks: Annotated[
        str | None,
        typer.Option(
            help="Train one encoder with a head per task (e.g. clickbait,news_topic); --dataset "
            "(and --real-data) then list one source per task, comma-separated, in this order."
        ),
    ] = None,
) -> None:
    """Finetune an encoder on a labelled dataset and report honestly, on real data too."""
    if tasks is not None:
        options = dict(locals())  # this command's options, passed on as given
        from flows.cli_multihead import train_multihead

        return train_multihead(tasks, options)
    config = _finetune_config(
        dataset=dataset,
        workdir=str(workdir),
        base_model=base_model,
        epochs=epochs,
        head=head,
        seed=seed,
        real_data=real_data,
        real_text_column=real_text_column,
        real_label_column=real_label_column,
        real_label_map=real_label_map,
        hub_model=hub_model,
        private=private,
    )
    check_workdir(workdir)
    check_base_model(base_model)
    need_hub_token(config.hub_model)
    check_dataset(dataset)
    open_run_log(workdir)
    from flows.finetune import finetune

    with running_flow(no_prefect):
        report = finetune(config)
    print_training_summary(report, workdir)


def print_training_summary(report: dict[str, Any], workdir: Path) -> None:
    """A few lines a user reads first: accuracy on synthetic and real data, and the verdict."""
    synth = report.get("synthetic_test") or {}
    real = report.get("real") or {}
    verdict = report.get("overfitting") or {}
    colour = {
        "ok": "green",
        "warning": "yellow",
        "overfit": "red",
        "insufficient real data": "yellow",
    }.get(verdict.get("verdict", ""), "white")
    out.print(f"Model saved to {workdir / 'model'}; report at {workdir / 'report.md'}")
    out.print(f"synthetic test accuracy {synth.get('accuracy', float('nan')):.3f}", end="")
    out.print(f", real accuracy {real['accuracy']:.3f}" if real else ", no real data given")
    out.print(f"verdict: [{colour}]{verdict.get('verdict', '?')}[/{colour}]")
    for reason in verdict.get("reasons", []):
        out.print(f"  - {reason}")


@app.command()
def predict(
    titles: Annotated[
        list[str] | None, typer.Argument(help="Titles to classify; none reads --file or stdin.")
    ] = None,
    model: Annotated[Path, typer.Option(help="A model directory (DIR/model).")] = Path("model"),
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Read titles from this file, one per line."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Titles per forward pass.")] = 32,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="torch; onnx or onnx-int8 (files from `titleforge export --onnx [--int8]`); "
            "auto: the fp32 ONNX export when it is newer than the weights, else torch."
        ),
    ] = "auto",
) -> None:
    """Print label and score for each title."""
    import json

    from training.fastpredict import load_fast

    texts = list(titles or [])
    if file is not None:
        texts += _lines(file.read_bytes(), f"--file {file}")
    if not texts and not sys.stdin.isatty():
        texts = _lines(sys.stdin.buffer.read(), "stdin")
    if not texts:
        user_error("no titles given: pass them as arguments, with --file, or on stdin.")
    with friendly_errors():
        # the ONNX export needs neither torch nor transformers: seconds less before the answer
        predictor = load_fast(model, engine, batch_size=batch_size)
        if predictor is None:
            from training.export_onnx import load_predictor

            predictor = load_predictor(model, engine, batch_size=batch_size)
        if getattr(predictor, "thresholds", None) is not None:  # multi-label: label sets
            from flows.predict_sets import print_label_sets

            print_label_sets(texts, predictor, as_json)
            return
        preds = predictor.predict(texts)
    if getattr(predictor, "tasks", None):  # a multi-head model: every head's label
        from flows.multihead import print_heads

        return print_heads(texts, preds, as_json)
    for text, (label, score) in zip(texts, preds, strict=True):
        if as_json:
            print(json.dumps({"text": text, "label": label, "score": round(score, 4)}))
        else:
            # never echo escape codes to a terminal: a title may carry them
            print(f"{label}\t{score:.4f}\t{printable(text)}")


def _lines(data: bytes, source: str) -> list[str]:
    """Non-empty lines of UTF-8 text; binary input is a user error naming the source."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        user_error(
            f"{source} is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}): "
            "pass titles as plain text, one per line."
        )
    if "\x00" in text:
        user_error(f"{source} holds NUL bytes, so it is binary, not titles: pass a text file.")
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def printable(text: str) -> str:
    """Control characters (ANSI escapes among them) shown as \\xNN instead of acted on."""
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)


@app.command()
def export(
    model: Annotated[Path, typer.Option(help="A model directory (DIR/model).")] = Path("model"),
    onnx: Annotated[bool, typer.Option("--onnx", help="Export to ONNX Runtime.")] = True,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="Also write an int8 model (per-token activation scales); model.int8.json "
            "says how each node was quantised and which stayed fp32, and why.",
        ),
    ] = False,
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="--int8: titles to calibrate on (a dataset dir, a CSV/JSONL/Parquet file with "
            "a text column, or a .txt file), ideally the training titles; default: DIR/dataset "
            "beside DIR/model.",
        ),
    ] = None,
) -> None:
    """Export a finetuned model for fast CPU inference (ONNX Runtime, optionally int8)."""
    from training.export_onnx import export_onnx

    if not onnx:
        user_error("only --onnx export exists; pass --onnx.")
    with friendly_errors():
        path = export_onnx(model, quantize=int8, calibration=calibration)
    out.print(f"Wrote {path} (serve it with onnxruntime; labels in {model / 'onnx_labels.json'}).")
    if int8:
        import json

        from training.quantize import MANIFEST, summary

        manifest = json.loads((model / MANIFEST).read_text(encoding="utf-8"))
        out.print(summary(manifest), markup=False)
        out.print(f"Every node kept in fp32, and why: {model / MANIFEST}", markup=False)
