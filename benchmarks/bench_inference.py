"""Inference speed, side by side, on the same messages in one run (figures to read, never a timed test).

For one artifact (and optionally a student), on the corpus test split by default:

* ``Classifier.predict`` in every precision mode: messages/s (median over repeats), labels equal to
  the fp32 teacher, macro-F1 against the gold labels, and what the artifact's guard says;
* ``Classifier.predict`` on one message at a time in the served mode, with the service's torch threads
  and with all of them: p50/p99 latency (how much of a single HTTP request is the model);
* the stock ``transformers.pipeline("text-classification")`` on the same encoder at batch 1 and at
  its best batch size among a few (the artifact's mean-pooling head is not a ``transformers`` class,
  so the pipeline runs the encoder with a fresh head: the same compute, no meaningful labels);
* ``POST /v1/classify`` on a real uvicorn server (child process, loopback, throwaway SQLite), one
  message per request from 1, 8 and 32 concurrent clients: p50/p99 latency, messages/s and the
  ratio to in-process throughput of the mode the server runs in.

Usage::

    python benchmarks/bench_inference.py --model artifacts/e5 --student artifacts/student
    python benchmarks/bench_inference.py --model M --limit 300 --repeats 1 --http-seconds 10 --no-pipeline
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import torch
from sklearn.metrics import f1_score

from ticketguard.models.classifier import Classifier, predictions_only
from ticketguard.models.defaults import GUARD_MIN_AGREEMENT, PRECISIONS
from ticketguard.models.hardware import bf16_is_fast, serving_threads
from ticketguard.training.corpus import load_corpus

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One line of the side-by-side table."""

    what: str
    msgs_per_s: float
    agreement: float | None = None
    macro_f1: float | None = None
    note: str = ""
    p50_ms: float | None = None
    p99_ms: float | None = None


@dataclass
class Texts:
    texts: list[str]
    gold: list[str]
    reference: list[str] = field(default_factory=list)  # the fp32 teacher's labels


def _median_rate(run: object, n: int, repeats: int) -> tuple[float, object]:
    rates, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = run()  # type: ignore[operator]
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates), out


def in_process(model: Path, name: str, data: Texts, *, modes: list[str], auto: str, repeats: int,
               threads: int) -> dict[str, Row]:
    """``Classifier.predict`` over all texts in each mode; the first fp32 run sets the reference labels."""
    rows: dict[str, Row] = {}
    for mode in modes:
        classifier = Classifier.load(model, precision=mode, threads=threads)
        classifier.predict(data.texts[:classifier.batch_size])  # warm-up
        emulated = mode == "bf16" and not bf16_is_fast(str(getattr(classifier.backend, "device", "cpu")))
        rate, out = _median_rate(lambda c=classifier: predictions_only(c.predict(data.texts)), len(data.texts),
                                 1 if emulated else repeats)
        labels = [p.label for p in out]  # type: ignore[attr-defined]
        if not data.reference:
            data.reference = labels
        agreement = sum(a == b for a, b in zip(labels, data.reference, strict=True)) / len(labels)
        macro_f1 = float(f1_score(data.gold, labels, labels=sorted(set(data.gold)), average="macro", zero_division=0))
        note = ("auto; " if mode == auto else "") + f"guard {classifier.precision.guard}" + \
            (" (bf16 emulated here: 1 run)" if emulated else "")
        rows[mode] = Row(f"{name} {mode}", rate, agreement, macro_f1, note)
        print(f"  {name} {mode}: {rate:.1f} msgs/s, {agreement:.1%} equal to fp32 teacher, macro-F1 {macro_f1:.4f}",
              flush=True)
    return rows


def one_at_a_time(model: Path, data: Texts, *, precision: str, thread_counts: list[int], limit: int) -> list[Row]:
    """``Classifier.predict`` on single messages (the first ``limit``), one call each: p50/p99 latency."""
    rows = []
    for threads in thread_counts:
        classifier = Classifier.load(model, precision=precision, threads=threads)
        texts = data.texts[:limit]
        for text in texts[:10]:  # warm-up
            classifier.predict([text])
        latencies = []
        for text in texts:
            started = time.perf_counter()
            classifier.predict([text])
            latencies.append(1000 * (time.perf_counter() - started))
        latencies.sort()
        p50, p99 = statistics.median(latencies), latencies[max(0, round(0.99 * len(latencies)) - 1)]
        rows.append(Row(f"teacher {precision} 1 message, {threads} thr", 1000 * len(latencies) / sum(latencies),
                        p50_ms=p50, p99_ms=p99, note=f"{len(latencies)} messages one call each"))
        print(f"  one message at a time, {threads} threads: p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
    return rows


def stock_pipeline(model: Path, data: Texts, *, batch_sizes: list[int], threads: int) -> list[Row]:
    """``transformers.pipeline`` on the artifact's encoder, at each batch size (one pass each)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from ticketguard.models.artifact import read_manifest

    torch.set_num_threads(threads)
    manifest = read_manifest(model)
    encoder = AutoModelForSequenceClassification.from_pretrained(model, num_labels=5).eval()
    classify = pipeline("text-classification", model=encoder, tokenizer=AutoTokenizer.from_pretrained(model),
                        device="cpu", truncation=True, max_length=manifest.max_length)
    texts = [manifest.text_prefix + t for t in data.texts]
    classify(texts[:8], batch_size=8)  # warm-up
    rows = []
    for size in batch_sizes:
        started = time.perf_counter()
        classify(texts, batch_size=size)
        rate = len(texts) / (time.perf_counter() - started)
        rows.append(Row(f"transformers.pipeline batch {size}", rate, note="encoder + fresh head"))
        print(f"  pipeline batch {size}: {rate:.1f} msgs/s", flush=True)
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``uvicorn --factory ticketguard.service.app:create_app`` in a child process, configured by environment."""

    def __init__(self, model: Path, workdir: Path, *, api_key: str, env: dict[str, str],
                 database_url: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.env = {**os.environ, **env, "TICKETGUARD_MODEL_PATH": str(model), "TICKETGUARD_API_KEYS": api_key,
                    "TICKETGUARD_DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.db'}",
                    "TICKETGUARD_LOG_LEVEL": "WARNING"}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "uvicorn", "--factory", "ticketguard.service.app:create_app", "--host",
                   "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after 300 s:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def drive(url: str, api_key: str, texts: list[str], *, clients: int, seconds: float) -> Row:
    """``clients`` concurrent clients, each sending one message at a time, for ``seconds``."""
    latencies: list[float] = []
    failures = sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}, limits=limits, timeout=60) as client:
        for text in texts[:clients]:  # warm connections and the model
            await client.post("/v1/classify", json={"text": text})
        started = time.perf_counter()
        deadline = started + seconds

        async def one_client() -> None:
            nonlocal failures, sent
            while time.perf_counter() < deadline:
                text = texts[sent % len(texts)]
                sent += 1
                t0 = time.perf_counter()
                response = await client.post("/v1/classify", json={"text": text})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    failures += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]

    def percentile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return Row(f"HTTP {clients} client{'s' if clients > 1 else ''}", len(latencies) / elapsed,
               note=f"{sent} requests, {failures} not 200" if failures else f"{sent} requests",
               p50_ms=percentile(0.5), p99_ms=percentile(0.99))


def http(model: Path, data: Texts, *, precision: str, clients: list[int], seconds: float,
         threads: int | None) -> list[Row]:
    api_key = secrets.token_hex(16)
    rows = []
    env = {"TICKETGUARD_PRECISION": precision, **({"TICKETGUARD_THREADS": str(threads)} if threads else {})}
    with tempfile.TemporaryDirectory(prefix="ticketguard-bench-") as tmp, \
            Server(model, Path(tmp), api_key=api_key, env=env) as server:
        for n in clients:
            row = asyncio.run(drive(server.url, api_key, data.texts, clients=n, seconds=seconds))
            rows.append(row)
            print(f"  HTTP {n} clients: {row.msgs_per_s:.1f} msgs/s, p50 {row.p50_ms:.1f} ms, p99 {row.p99_ms:.1f} ms",
                  flush=True)
    return rows


def _fmt(value: float | None, pattern: str) -> str:
    return "" if value is None else format(value, pattern)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="the teacher artifact (fp32 is the reference)")
    parser.add_argument("--student", type=Path, help="a second artifact timed in its auto mode and fp32")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "corpus", help="labelled corpus")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="first N messages of the split (0: all)")
    parser.add_argument("--modes", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=3, help="in-process passes per mode (the median is shown)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pipeline-batches", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--http-threads", type=int, help="torch threads of the server (default: the service's "
                        "own, all cores but one)")
    parser.add_argument("--http-seconds", type=float, default=20.0, help="duration per client count")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--single", type=int, default=200, help="messages timed one call each in the served "
                        "mode, with the service's threads and with --threads (0: skip)")
    args = parser.parse_args()

    rows_ = [r for r in load_corpus(args.data) if r.split == args.split]
    rows_ = rows_[:args.limit] if args.limit else rows_
    data = Texts([r.text for r in rows_], [r.label for r in rows_])
    modes = ["fp32", *[m for m in args.modes if m != "fp32"]]
    served = Classifier.load(args.model, threads=args.threads).precision.mode
    print(f"model {args.model}; {len(data.texts)} {args.split} messages; {args.threads} threads; "
          f"{os.cpu_count()} cores; bf16 native: {bf16_is_fast('cpu')}; auto mode: {served}", flush=True)

    table = list(in_process(args.model, "teacher", data, modes=modes, auto=served, repeats=args.repeats,
                            threads=args.threads).values())
    if args.student:
        student_mode = Classifier.load(args.student, threads=args.threads).precision.mode
        table += in_process(args.student, "student", data, modes=sorted({"fp32", student_mode}, key=modes.index),
                            auto=student_mode, repeats=args.repeats, threads=args.threads).values()
    if args.single:
        table += one_at_a_time(args.model, data, precision=served, limit=args.single,
                               thread_counts=sorted({args.http_threads or serving_threads(), args.threads}))
    if not args.no_pipeline:
        piped = stock_pipeline(args.model, data, batch_sizes=args.pipeline_batches, threads=args.threads)
        best = max(piped[1:] or piped, key=lambda r: r.msgs_per_s)
        table += [piped[0], best] if best is not piped[0] else [piped[0]]
    # the served mode's in-process rate (absent when --modes left it out)
    in_process_rate = next((r.msgs_per_s for r in table if r.what == f"teacher {served}"), None)
    if not args.no_http:
        for row in http(args.model, data, precision=served, clients=args.clients, seconds=args.http_seconds,
                        threads=args.http_threads):
            if in_process_rate:
                row.note += f"; {row.msgs_per_s / in_process_rate:.0%} of in-process teacher {served}"
            table.append(row)

    header = f"{'path':<34}{'msgs/s':>9}{'= fp32':>9}{'macro-F1':>10}{'p50 ms':>9}{'p99 ms':>9}  note"
    print("\n" + header + "\n" + "-" * len(header))
    for r in table:
        print(f"{r.what:<34}{r.msgs_per_s:>9.1f}{_fmt(r.agreement, '.1%'):>9}{_fmt(r.macro_f1, '.4f'):>10}"
              f"{_fmt(r.p50_ms, '.1f'):>9}{_fmt(r.p99_ms, '.1f'):>9}  {r.note}")
    if not args.no_pipeline:
        best_rate = max(r.msgs_per_s for r in table if r.what.startswith("transformers.pipeline"))
        kept = [r for r in table if r.agreement is not None and r.agreement >= GUARD_MIN_AGREEMENT]
        fastest = max(kept, key=lambda r: r.msgs_per_s)
        print(f"\nfastest in-process with >= {GUARD_MIN_AGREEMENT:.0%} agreement ({fastest.what}) / best stock "
              f"pipeline = {fastest.msgs_per_s / best_rate:.1f}x")


if __name__ == "__main__":
    main()
