"""ONNX Runtime against torch on the CPU, side by side on the same messages (figures to read, never a timed test).

For one transformer artifact, on the corpus test split by default, each path runs inside a
``Classifier`` built from the same artifact (same normalising, token ids, length-sorted batches and
calibration); only the backend's forward pass differs:

* torch fp32 (the reference), torch bf16 autocast (only where bfloat16 is native on this CPU) and
  torch int8 (the project's own ``int8`` precision mode, for comparison);
* ONNX Runtime fp32: the artifact's model exported with ``torch.onnx.export`` (dynamic batch and
  sequence axes), run by a CPU session;
* ONNX Runtime int8: that graph through ``quantize_dynamic`` (int8 weights per output channel,
  activations quantised per batch).

Each row: messages/s through ``Classifier.predict`` (tokenising included, median over repeats),
labels equal to torch fp32, the largest calibrated-probability difference from torch fp32, and
macro-F1 against the gold labels. Torch and ONNX Runtime run on the same number of intra-op threads.

ONNX is not a TicketGuard dependency; this script needs ``pip install onnx onnxruntime`` (and
``onnxscript`` for ``--exporter dynamo``).

Usage::

    python benchmarks/bench_onnx.py --model artifacts/e5
    python benchmarks/bench_onnx.py --model M --limit 300 --repeats 1 --threads 2 --json onnx.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np
import torch
from sklearn.metrics import f1_score

from ticketguard.models.backends import Backend, TransformerBackend, logits_of, pad_ids
from ticketguard.models.classifier import Classifier, predictions_only
from ticketguard.models.defaults import DEFAULT_BATCH_SIZE
from ticketguard.models.hardware import bf16_is_fast
from ticketguard.models.precision import quantize_int8
from ticketguard.models.prediction import Prediction
from ticketguard.training.corpus import load_corpus

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("input_ids", "attention_mask")


@dataclass
class Row:
    """One line of the side-by-side table."""

    what: str
    msgs_per_s: float
    agreement: float
    max_prob_diff: float
    macro_f1: float
    note: str = ""


@dataclass(frozen=True)
class Onnx:
    """The optional packages, imported only when the script runs."""

    onnx: ModuleType
    ort: ModuleType
    quantization: ModuleType


def import_onnx(exporter: str) -> Onnx:
    """Import onnx and onnxruntime, or exit saying how to install them (they are not project dependencies)."""
    try:
        modules = Onnx(importlib.import_module("onnx"), importlib.import_module("onnxruntime"),
                       importlib.import_module("onnxruntime.quantization"))
        if exporter == "dynamo":
            importlib.import_module("onnxscript")
    except ImportError as err:
        extra = " onnxscript" if exporter == "dynamo" else ""
        raise SystemExit(f"{err.name} is missing; the ONNX paths need packages TicketGuard does not depend on:\n"
                         f"    pip install onnx onnxruntime{extra}") from err
    return modules


class _Logits(torch.nn.Module):
    """The artifact's model with a plain logits output, which is what the exporter records."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return logits_of(self.model(input_ids=input_ids, attention_mask=attention_mask))


def export(model: torch.nn.Module, sample: Sequence[Sequence[int]], pad_id: int, path: Path, *, exporter: str,
           opset: int) -> None:
    """Write ``model`` as an ONNX graph taking int64 ``input_ids`` and ``attention_mask`` of any (batch, tokens).

    Args:
        sample: token ids of at least two texts of different lengths, so no axis is traced as a constant.
        exporter: ``torchscript`` (``dynamo=False``) or ``dynamo``.
    """
    ids, mask = (torch.from_numpy(a) for a in pad_ids(sample, pad_id))
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
               "logits": {0: "batch"}}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # the tracer warns of shape checks it records as constants, and of its own deprecation; the
        # table's max |dp| against torch over batches of every shape shows whether the graph generalised
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        torch.onnx.export(_Logits(model).eval(), (ids, mask), str(path), input_names=list(INPUTS),
                          output_names=["logits"], dynamic_axes=dynamic, opset_version=opset,
                          dynamo=exporter == "dynamo", external_data=False)


class OrtBackend:
    """An exported graph in an ONNX Runtime CPU session; tokenising is the torch backend's, unchanged."""

    def __init__(self, onnx: Onnx, path: Path, tokens: TransformerBackend, *, threads: int) -> None:
        options = onnx.ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnx.ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnx.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session: Any = onnx.ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path
        self.tokens = tokens

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokens.encode(texts)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return self.tokens.offsets(text)

    def save(self, directory: Path) -> None:
        shutil.copy2(self.path, directory / self.path.name)

    def forward(self, encoded: Sequence[Sequence[Any]]) -> np.ndarray:
        input_ids, mask = pad_ids(cast(Sequence[Sequence[int]], encoded), self.tokens.pad_id)
        (logits,) = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(logits, dtype=np.float32)


def with_backend(reference: Classifier, backend: Backend) -> Classifier:
    """A classifier like ``reference`` (labels, calibration, batching) whose forward pass runs on ``backend``."""
    return Classifier(backend, reference.manifest, reference.labels, reference.calibration,
                      batch_size=reference.batch_size, max_batch_tokens=reference.max_batch_tokens)


def measure(name: str, classifier: Classifier, texts: list[str], gold: list[str], *, repeats: int,
            reference: list[Prediction] | None, note: str = "") -> tuple[Row, list[Prediction]]:
    """``classifier.predict`` over ``texts``: the median rate of ``repeats`` passes, compared with ``reference``."""
    classifier.predict(texts[:classifier.batch_size])  # warm-up
    rates, out = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        out = predictions_only(classifier.predict(texts))
        rates.append(len(texts) / (time.perf_counter() - started))
    base = reference or out
    labels = [p.label for p in out]
    agreement = sum(p.label == q.label for p, q in zip(out, base, strict=True)) / len(out)
    diff = max(abs(p.scores[k] - q.scores[k]) for p, q in zip(out, base, strict=True) for k in p.scores)
    macro_f1 = float(f1_score(gold, labels, labels=sorted(set(gold)), average="macro", zero_division=0))
    row = Row(name, statistics.median(rates), agreement, diff, macro_f1, note)
    print(f"  {name}: {row.msgs_per_s:.1f} msgs/s, {agreement:.1%} equal to torch fp32, max |dp| {diff:.4f}, "
          f"macro-F1 {macro_f1:.4f}", flush=True)
    return row, out


def _mb(path: Path) -> float:
    return path.stat().st_size / 2**20


def _timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a transformer artifact (torch fp32 is the reference)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "corpus", help="labelled corpus")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="first N messages of the split (0: all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per path (the median is shown)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="intra-op threads for torch and ONNX Runtime alike")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="most messages per forward pass")
    parser.add_argument("--exporter", choices=("torchscript", "dynamo"), default="torchscript",
                        help="torch.onnx.export with dynamo=False (torchscript) or dynamo=True")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--reduce-range", action="store_true",
                        help="7-bit int8 weights (onnxruntime's advice for CPUs without VNNI)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    onnx = import_onnx(args.exporter)

    rows_ = [r for r in load_corpus(args.data) if r.split == args.split]
    rows_ = rows_[:args.limit] if args.limit else rows_
    texts, gold = [r.text for r in rows_], [r.label for r in rows_]
    reference = Classifier.load(args.model, batch_size=args.batch_size, threads=args.threads, device="cpu",
                                precision="fp32")
    if not isinstance(reference.backend, TransformerBackend):
        raise SystemExit(f"{args.model} is a {reference.manifest.arch} artifact; ONNX export is for transformers")
    torch_fp32 = reference.backend
    bf16_native = bf16_is_fast("cpu")
    print(f"model {args.model} ({reference.manifest.pooling} pooling); {len(texts)} {args.split} messages; "
          f"{args.threads} threads; {os.cpu_count()} cores; batch size {reference.batch_size}; "
          f"bf16 native: {bf16_native}; torch {torch.__version__}; onnxruntime {onnx.ort.__version__}", flush=True)

    table: list[Row] = []
    row, base = measure("torch fp32", reference, texts, gold, repeats=args.repeats, reference=None)
    table.append(row)
    if bf16_native:
        bf16 = TransformerBackend(torch_fp32.model, torch_fp32.tokenizer, max_length=torch_fp32.max_length,
                                  precision="bf16")
        table.append(measure("torch bf16 autocast", with_backend(reference, bf16), texts, gold, repeats=args.repeats,
                             reference=base)[0])
    else:
        print("  torch bf16 autocast: skipped (bfloat16 is emulated on this CPU)", flush=True)
    int8 = TransformerBackend(quantize_int8(torch_fp32.model), torch_fp32.tokenizer, max_length=torch_fp32.max_length,
                              precision="int8")
    table.append(measure("torch int8 (project mode)", with_backend(reference, int8), texts, gold,
                         repeats=args.repeats, reference=base)[0])

    with tempfile.TemporaryDirectory(prefix="ticketguard-onnx-") as tmp:
        fp32_path, int8_path = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        # two texts of different lengths, so neither axis is recorded as a constant
        encoded = sorted(reference.encode(texts[:64]), key=len)
        sample = [cast(Sequence[int], encoded[0]), cast(Sequence[int], encoded[-1])]
        export_s = _timed(lambda: export(torch_fp32.model, sample, torch_fp32.pad_id, fp32_path,
                                         exporter=args.exporter, opset=args.opset))
        onnx.onnx.checker.check_model(str(fp32_path))
        quantize_s = _timed(lambda: onnx.quantization.quantize_dynamic(
            str(fp32_path), str(int8_path), per_channel=True, reduce_range=args.reduce_range,
            weight_type=onnx.quantization.QuantType.QInt8))
        print(f"  exported ({args.exporter}, opset {args.opset}) in {export_s:.1f} s: {_mb(fp32_path):.0f} MB; "
              f"quantised in {quantize_s:.1f} s: {_mb(int8_path):.0f} MB", flush=True)
        for name, path in (("onnxruntime fp32", fp32_path), ("onnxruntime int8 dynamic", int8_path)):
            ort = OrtBackend(onnx, path, torch_fp32, threads=args.threads)
            table.append(measure(name, with_backend(reference, ort), texts, gold, repeats=args.repeats,
                                 reference=base, note=f"{_mb(path):.0f} MB graph")[0])
            del ort  # one session's weights in memory at a time

    header = f"{'path':<28}{'msgs/s':>9}{'x fp32':>8}{'= fp32':>9}{'max |dp|':>10}{'macro-F1':>10}  note"
    print("\n" + header + "\n" + "-" * len(header))
    for r in table:
        print(f"{r.what:<28}{r.msgs_per_s:>9.1f}{r.msgs_per_s / table[0].msgs_per_s:>8.2f}{r.agreement:>9.1%}"
              f"{r.max_prob_diff:>10.4f}{r.macro_f1:>10.4f}  {r.note}")
    if args.json:
        report = {"model": str(args.model), "split": args.split, "messages": len(texts), "threads": args.threads,
                  "cores": os.cpu_count(), "batch_size": reference.batch_size, "bf16_native": bf16_native,
                  "torch": torch.__version__, "onnxruntime": onnx.ort.__version__, "exporter": args.exporter,
                  "opset": args.opset, "reduce_range": args.reduce_range, "repeats": args.repeats,
                  "rows": [asdict(r) for r in table]}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
