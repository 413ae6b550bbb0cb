"""Benchmark the HTTP service against in-process batch inference.

Starts a real uvicorn server on 127.0.0.1 (a free port) for each micro-batching mode, drives
``POST /v1/classify`` with single messages from 1, 8 and 32 concurrent clients, and prints p50/p99
latency and messages/s next to the throughput of ``Classifier.predict`` called in-process.

Usage::

    python benchmarks/bench_service.py                         # the default model (built if missing)
    python benchmarks/bench_service.py --model /tmp/tiny --requests 300 --duration 15

Only loopback traffic; the server's database is a throwaway SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FALLBACK_TEXTS = [
    "Refund me by Friday or my lawyer files the lawsuit on Monday.",
    "You are a useless idiot, read my message again.",
    "Your colleague promised me a full refund plus a free year, so just do it.",
    "I was charged twice for order 88231, please reverse one charge.",
    "How do I change the delivery address on an order that hasn't shipped yet?",
]


def load_texts(limit: int) -> list[str]:
    """Real messages from the shipped corpus (all languages), or a few built-in ones."""
    texts: list[str] = []
    for file in sorted((ROOT / "data" / "corpus").glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    if not texts:
        return FALLBACK_TEXTS * (limit // len(FALLBACK_TEXTS) + 1)
    # interleave languages: take every k-th text so a short run still sees all of them
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Result:
    label: str
    concurrency: int
    requests: int
    errors: int
    rejected: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return (self.requests - self.errors - self.rejected) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def in_process(model: Path, texts: list[str], batch_size: int, seconds: float) -> tuple[float, float]:
    """Messages/s of ``Classifier.predict`` on batches of ``batch_size`` and on single messages."""
    from ticketguard.models.classifier import Classifier

    classifier = Classifier.load(model, batch_size=batch_size)
    classifier.predict(texts[:batch_size])  # warm-up

    def rate(size: int) -> float:
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            start = (done * size) % max(1, len(texts) - size)
            classifier.predict(texts[start:start + size])
            done += 1
        return done * size / (time.perf_counter() - started)

    return rate(batch_size), rate(1)


class Server:
    """``uvicorn --factory service.app:create_app`` in a child process, configured by environment."""

    def __init__(self, model: Path, workdir: Path, *, microbatch: bool, api_key: str, extra_env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{'on' if microbatch else 'off'}.log"
        self.env = {**os.environ, **extra_env,
                    "TICKETGUARD_MODEL_PATH": str(model), "TICKETGUARD_API_KEYS": api_key,
                    "TICKETGUARD_DATABASE_URL": f"sqlite:///{workdir / ('bench-' + str(self.port) + '.db')}",
                    "TICKETGUARD_MICROBATCH_ENABLED": str(microbatch).lower(), "TICKETGUARD_LOG_LEVEL": "WARNING"}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "uvicorn", "--factory", "ticketguard.service.app:create_app", "--host", "127.0.0.1",
                   "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after 180 s:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def drive(url: str, api_key: str, texts: list[str], *, concurrency: int, requests: int,
                seconds: float, label: str) -> Result:
    """``concurrency`` clients, each sending one message at a time, until the request or time budget ends."""
    latencies: list[float] = []
    errors = rejected = sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}, limits=limits, timeout=60) as client:
        for text in texts[:concurrency]:  # warm connections and the model
            await client.post("/v1/classify", json={"text": text})
        started = time.perf_counter()
        deadline = started + seconds

        async def one_client() -> None:
            nonlocal errors, rejected, sent
            while sent < requests and time.perf_counter() < deadline:
                text = texts[sent % len(texts)]
                sent += 1
                t0 = time.perf_counter()
                response = await client.post("/v1/classify", json={"text": text})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                elif response.status_code == 503:
                    rejected += 1
                else:
                    errors += 1

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(label, concurrency, sent, errors, rejected, elapsed, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="artifact (default: the default model, built if missing)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=400, help="request budget per (mode, concurrency)")
    parser.add_argument("--duration", type=float, default=20.0, help="time budget per (mode, concurrency), s")
    parser.add_argument("--batch-size", type=int, default=64, help="in-process batch size (and max micro-batch)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="micro-batch wait")
    parser.add_argument("--texts", type=int, default=512, help="distinct messages to cycle through")
    args = parser.parse_args()

    if args.model is None:
        from ticketguard.cli.model_commands import resolve_model

        args.model = resolve_model(None)
    texts = load_texts(args.texts)
    api_key = secrets.token_hex(16)
    extra = {"TICKETGUARD_MICROBATCH_MAX_SIZE": str(args.batch_size),
             "TICKETGUARD_MICROBATCH_MAX_WAIT_MS": str(args.max_wait_ms),
             "TICKETGUARD_BATCH_SIZE": str(args.batch_size)}

    print(f"model: {args.model}   messages: {len(texts)}   cpu cores: {os.cpu_count()}", flush=True)
    batch_rate, single_rate = in_process(args.model, texts, args.batch_size, seconds=min(10.0, args.duration))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="ticketguard-bench-") as tmp:
        for microbatch in (True, False):
            mode = "micro-batching on" if microbatch else "micro-batching off"
            with Server(args.model, Path(tmp), microbatch=microbatch, api_key=api_key, extra_env=extra) as server:
                for concurrency in args.concurrency:
                    result = asyncio.run(drive(server.url, api_key, texts, concurrency=concurrency,
                                               requests=args.requests, seconds=args.duration, label=mode))
                    results.append(result)
                    print(f"  {mode:<19} c={concurrency:<3} {result.per_second:8.1f} msg/s", flush=True)

    header = f"{'mode':<22}{'clients':>8}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'msg/s':>10}{'503s':>7}{'errors':>8}"
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.label:<22}{r.concurrency:>8}{r.requests:>10}{r.percentile(0.5):>10.1f}{r.percentile(0.99):>10.1f}"
              f"{r.per_second:>10.1f}{r.rejected:>7}{r.errors:>8}")
    print(f"{'in-process predict':<22}{'batch ' + str(args.batch_size):>8}{'':>10}{'':>10}{'':>10}{batch_rate:>10.1f}")
    print(f"{'in-process predict':<22}{'batch 1':>8}{'':>10}{'':>10}{'':>10}{single_rate:>10.1f}")
    best = max((r.per_second for r in results if r.label.endswith("on")), default=0.0)
    if batch_rate:
        print(f"\nbest HTTP throughput with micro-batching = {best / batch_rate:.0%} of in-process batch throughput")
    if any(r.errors for r in results):
        raise SystemExit("some requests failed; see the table")


if __name__ == "__main__":
    main()
