"""Benchmark the webhook path: acknowledgement latency while ``/v1/classify`` saturates the model, and the
time from a delivery to its write-back at a (local, fake) helpdesk.

Starts the service in a child process (uvicorn, throwaway SQLite, a generic and a Zendesk secret, Zendesk
write-back pointed at a fake helpdesk served by this script), keeps the model busy with bulk
``/v1/classify`` batches from ``--bulk-clients`` clients (in a process of their own), and meanwhile:

1. sends signed generic deliveries from 1, 8 and 32 concurrent senders and prints ack p50/p99: closed loop
   (each sender posts again as soon as it is answered, which measures throughput as much as latency)
   and open loop at ``--rate`` deliveries per second (latency from when each delivery fell due);
2. sends Zendesk deliveries for new tickets, one at a time, and prints p50/p99 of delivery-to-write-back
   (the fake helpdesk's receipt of ``PUT /api/v2/tickets/{id}``).

Usage::

    python benchmarks/bench_webhooks.py --model /tmp/tiny --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inference import Server  # noqa: E402 - after the path set-up
from ticketguard.training.corpus import load_corpus  # noqa: E402

GENERIC_SECRET = secrets.token_hex(24)
ZENDESK_SECRET = secrets.token_hex(24)


def load_texts(limit: int) -> list[str]:
    """``limit`` messages of the shipped corpus, every k-th row so that a short run sees every language."""
    texts = [row.text for row in load_corpus(ROOT / "data" / "corpus")]
    return texts[:: max(1, len(texts) // limit)][:limit]


class FakeZendesk:
    """Records when each ``PUT /api/v2/tickets/{id}`` arrives (perf_counter), answers 200."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.arrivals.setdefault(self.path.rsplit("/", 1)[-1], time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def generic(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = hmac.new(GENERIC_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-TicketGuard-Timestamp": timestamp,
            "X-TicketGuard-Signature": signature}


def zendesk(body: bytes) -> dict[str, str]:
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(hmac.new(ZENDESK_SECRET.encode(), timestamp.encode() + body, hashlib.sha256).digest())
    return {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature": signature.decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp}


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    if not ordered:
        return float("nan"), float("nan")

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return pick(0.5), pick(0.99)


async def saturate(url: str, api_key: str, texts: list[str], clients: int, counts: Any) -> None:
    """``clients`` bulk clients: batches of 64 messages back to back, counted by status (200, 503, other)."""
    async def client_loop(client: httpx.AsyncClient, offset: int) -> None:
        i = offset
        while True:
            batch = [{"text": texts[(i + k) % len(texts)]} for k in range(64)]
            i += 64
            response = await client.post("/v1/classify", json={"items": batch})
            counts[{200: 0, 503: 1}.get(response.status_code, 2)] += 1

    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}, timeout=120) as client:
        await asyncio.gather(*(client_loop(client, 64 * n) for n in range(clients)))


def bulk_load(url: str, api_key: str, texts: list[str], clients: int, counts: Any) -> None:
    """The bulk load in its own process, so that its event loop never delays the timed senders'."""
    asyncio.run(saturate(url, api_key, texts, clients, counts))


async def acks(url: str, texts: list[str], senders: int, seconds: float, tag: str,
               rate: float | None = None) -> tuple[list[float], int]:
    """Ack latencies of ``senders`` concurrent senders for ``seconds``.

    Without ``rate`` each sender posts its next delivery as soon as the last is answered (closed loop:
    latency is then ``senders`` / throughput). With ``rate`` deliveries fall due at ``rate`` per second
    in all and go to the next free sender; latency counts from when a delivery fell due, so a delivery
    that waited for a free sender counts its wait (no coordinated omission).
    """
    latencies: list[float] = []
    failures = 0
    sent = 0
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    due_times: asyncio.Queue[float | None] = asyncio.Queue()
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def post(due: float) -> None:
            nonlocal sent, failures
            sent += 1
            body = json.dumps({"id": f"{tag}-{sent}", "text": texts[sent % len(texts)]}).encode()
            response = await client.post("/v1/webhooks/generic", content=body, headers=generic(body))
            if response.status_code == 200 and response.json()["status"] == "accepted":
                latencies.append(time.perf_counter() - due)
            else:
                failures += 1

        async def closed_loop_sender() -> None:
            while time.perf_counter() < deadline:
                await post(time.perf_counter())

        async def open_loop_sender() -> None:
            while (due := await due_times.get()) is not None:
                await post(due)

        async def schedule(per_second: float) -> None:
            for n in itertools.count():
                due = started + n / per_second
                if due > deadline:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due_times.put_nowait(due)
            for _ in range(senders):
                due_times.put_nowait(None)

        if rate is None:
            await asyncio.gather(*(closed_loop_sender() for _ in range(senders)))
        else:
            await asyncio.gather(schedule(rate), *(open_loop_sender() for _ in range(senders)))
    return latencies, failures


async def drain(url: str) -> float:
    """Seconds until the inbox backlog of the ack phase is classified: the inbox goes in arrival order,
    so a last generic delivery asked to ``?wait=`` comes back labelled only once the rows before it are."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for n in itertools.count():
            body = json.dumps({"id": f"drain-{n}", "text": "Where is my parcel?"}).encode()
            response = await client.post("/v1/webhooks/generic?wait=10s", content=body, headers=generic(body))
            if response.status_code == 200 and response.json()["status"] != "accepted":
                break
    return time.perf_counter() - started


async def write_backs(url: str, fake: FakeZendesk, texts: list[str], count: int) -> list[float]:
    """Delivery-to-write-back of ``count`` new tickets, one delivery every 0.25 s."""
    sent_at: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for n in range(count):
            ticket = f"9{n:05d}"
            payload = {"type": "zen:event-type:ticket.comment_added", "account_id": 1,
                       "detail": {"id": ticket, "description": "-"},
                       "event": {"comment": {"id": f"c{n}", "body": texts[n % len(texts)], "is_public": True,
                                             "author": {"id": "1", "is_staff": False}}}}
            body = json.dumps(payload).encode()
            sent_at[ticket] = time.perf_counter()
            response = await client.post("/v1/webhooks/zendesk", content=body, headers=zendesk(body))
            response.raise_for_status()
            await asyncio.sleep(0.25)
        deadline = time.perf_counter() + 120
        while len(fake.arrivals) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
    return [fake.arrivals[t] - sent_at[t] for t in sent_at if t in fake.arrivals]


async def run(args: argparse.Namespace, url: str, fake: FakeZendesk, texts: list[str]) -> None:
    spawn = multiprocessing.get_context("spawn")
    counts = spawn.Array("i", 3)
    bulk = spawn.Process(
        target=bulk_load, args=(url, args.api_key, texts, args.bulk_clients, counts), daemon=True)
    if args.bulk_clients:
        bulk.start()
        await asyncio.sleep(5)  # let the bulk load fill the queue
    try:
        modes: list[float | None] = [None, *args.rate]
        print(f"{'senders':>8}{'arrivals':>14}{'acks':>8}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}", flush=True)
        for rate in modes:
            for senders in args.senders:
                latencies, failures = await acks(url, texts, senders, args.duration, f"s{senders}-{rate}", rate)
                p50, p99 = percentiles(latencies)
                arrivals = "closed loop" if rate is None else f"{rate:g}/s"
                print(f"{senders:>8}{arrivals:>14}{len(latencies):>8}{p50:>10.1f}{p99:>10.1f}{failures:>8}",
                      flush=True)
        print(f"\ninbox backlog of the ack phase classified in {await drain(url):.0f} s (bulk load still on)")
        delays = await write_backs(url, fake, texts, args.tickets)
        p50, p99 = percentiles(delays)
        print(f"\ndelivery-to-write-back under bulk load: {len(delays)}/{args.tickets} tickets, "
              f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    finally:
        if bulk.is_alive():
            bulk.terminate()
            bulk.join()
    print(f"bulk /v1/classify batches of 64 during the run: {sum(counts)} "
          f"({counts[0]} answered 200, {counts[1]} 503, {counts[2]} other)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="artifact (default: the default model, built if missing)")
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of acks per sender count")
    parser.add_argument("--rate", type=float, nargs="*", default=[100.0],
                        help="also time open-loop arrivals at these deliveries per second (all senders together)")
    parser.add_argument("--bulk-clients", type=int, default=4, help="clients saturating /v1/classify")
    parser.add_argument("--tickets", type=int, default=20, help="deliveries timed to their write-back")
    parser.add_argument("--database-url", help="the service's database (default: a throwaway SQLite file)")
    args = parser.parse_args()
    if args.model is None:
        from ticketguard.cli.model_commands import resolve_model

        args.model = resolve_model(None)
    args.api_key = secrets.token_hex(16)
    texts = load_texts(512)
    fake = FakeZendesk()
    extra = {"TICKETGUARD_GENERIC_WEBHOOK_SECRET": GENERIC_SECRET, "TICKETGUARD_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
             "TICKETGUARD_ZENDESK_WRITEBACK": json.dumps({"base_url": fake.url, "email": "bench@example.com",
                                                          "api_token": secrets.token_hex(16), "label_field_id": 1})}
    print(f"model: {args.model}   cpu cores: {os.cpu_count()}   bulk clients: {args.bulk_clients}   "
          f"database: {args.database_url or 'sqlite (throwaway)'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ticketguard-bench-") as tmp, \
            Server(args.model, Path(tmp), api_key=args.api_key, env=extra, database_url=args.database_url) as server:
        asyncio.run(run(args, server.url, fake, texts))


if __name__ == "__main__":
    main()
