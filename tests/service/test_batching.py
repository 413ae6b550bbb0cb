"""The micro-batcher merges concurrent requests, bounds its queue, and isolates bad messages."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from ticketguard.models.labels import LABELS
from ticketguard.models.prediction import Prediction, Result, Unclassifiable
from ticketguard.service.batching import MicroBatcher
from ticketguard.service.errors import NotReadyError, OverloadedError
from ticketguard.service.metrics import Metrics


class GatedPredict:
    """A predict function that records its calls and, while the gate is closed, blocks (a slow model)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, texts: Sequence[str]) -> list[Result]:
        self.gate.wait(10)
        self.calls.append(list(texts))
        return [Unclassifiable("empty text") if t == "BAD" else
                Prediction(label=LABELS[len(t) % 5], scores={name: 0.2 for name in LABELS}) for t in texts]


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def test_concurrent_submits_share_one_predict_call() -> None:
    async def scenario() -> None:
        predict = GatedPredict()
        metrics = Metrics()
        batcher = MicroBatcher(list, predict, max_batch_tokens=10_000, max_batch_size=64, max_wait_ms=50, queue_size=100,
                               metrics=metrics)
        await batcher.start()
        texts = [f"message {'x' * i}" for i in range(10)]
        results = await asyncio.gather(*(batcher.submit([t]) for t in texts))
        await batcher.stop()
        assert predict.calls == [texts]  # one call, arrival order kept
        assert [r[0].label for r in results] == [LABELS[len(t) % 5] for t in texts]
        assert metrics.sample("ticketguard_batch_size_count") == 1
        assert metrics.sample("ticketguard_batch_size_sum") == 10

    asyncio.run(scenario())


def test_batches_close_at_max_size() -> None:
    async def scenario() -> None:
        predict = GatedPredict()
        batcher = MicroBatcher(list, predict, max_batch_tokens=10_000, max_batch_size=4, max_wait_ms=50, queue_size=100)
        await batcher.start()
        await asyncio.gather(*(batcher.submit([str(i)]) for i in range(10)))
        await batcher.stop()
        assert [len(c) for c in predict.calls] == [4, 4, 2]

    asyncio.run(scenario())


def test_batches_close_on_the_token_budget() -> None:
    async def scenario() -> None:
        predict = GatedPredict()

        def encode(texts: Sequence[str]) -> list[list[int]]:  # "tokens" are the words
            return [[0] * len(t.split()) for t in texts]

        def run(items: Sequence[Sequence[int]]) -> list[Result]:
            return predict([str(len(i)) for i in items])

        batcher = MicroBatcher(encode, run, max_batch_size=64, max_batch_tokens=10, max_wait_ms=50, queue_size=100)
        await batcher.start()
        words = [4, 4, 4, 12, 1, 1]  # tokens per request; all are queued before the worker wakes
        await asyncio.gather(*(batcher.submit([" ".join(["w"] * n)]) for n in words))
        await batcher.stop()
        # 4+4 fit in 10 tokens and the third 4 opens the next batch; 12 is over the budget on its own and
        # runs alone; arrival order is kept
        assert predict.calls == [["4", "4"], ["4"], ["12"], ["1", "1"]]

    asyncio.run(scenario())


def test_disabled_batching_runs_each_request_alone() -> None:
    async def scenario() -> None:
        predict = GatedPredict()
        batcher = MicroBatcher(list, predict, max_batch_tokens=10_000, max_batch_size=64, max_wait_ms=50, queue_size=100,
                               enabled=False)
        await batcher.start()
        await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b", "c"]), batcher.submit(["d"]))
        await batcher.stop()
        assert predict.calls == [["a"], ["b", "c"], ["d"]]

    asyncio.run(scenario())


def test_full_queue_refuses_with_retry_after() -> None:
    async def scenario() -> None:
        predict = GatedPredict()
        predict.gate.clear()  # the model is busy
        metrics = Metrics()
        batcher = MicroBatcher(list, predict, max_batch_tokens=10_000, max_batch_size=2, max_wait_ms=0, queue_size=3,
                               retry_after=7, metrics=metrics)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit(["in flight"]))
        await _until(lambda: metrics.sample("ticketguard_queue_accepted_total") == 1 and batcher.depth == 0)
        await asyncio.sleep(0.05)  # the worker has taken the first job and is blocked in predict
        waiting = [asyncio.ensure_future(batcher.submit([f"w{i}"])) for i in range(3)]
        await _until(lambda: batcher.depth == 3)
        with pytest.raises(OverloadedError) as refused:
            await batcher.submit(["one too many"])
        assert refused.value.status_code == 503
        assert refused.value.headers == {"Retry-After": "7"}
        assert metrics.sample("ticketguard_queue_rejected_total") == 1
        assert metrics.sample("ticketguard_queue_depth") == 3
        predict.gate.set()
        results = await asyncio.gather(first, *waiting)
        assert len(results) == 4 and batcher.depth == 0
        await batcher.stop()

    asyncio.run(scenario())


def test_one_bad_message_gets_its_reason_in_the_shared_batch() -> None:
    async def scenario() -> None:
        predict = GatedPredict()
        batcher = MicroBatcher(list, predict, max_batch_tokens=10_000, max_batch_size=64, max_wait_ms=50, queue_size=100)
        await batcher.start()
        good, bad = await asyncio.gather(batcher.submit(["fine"]), batcher.submit(["BAD"]))
        await batcher.stop()
        assert bad == [Unclassifiable("empty text")]
        assert isinstance(good[0], Prediction) and good[0].label == LABELS[4]
        assert predict.calls == [["fine", "BAD"]]  # one forward pass, no retry

    asyncio.run(scenario())


def test_submit_before_start_or_after_stop_is_not_ready() -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(list, GatedPredict(), max_batch_tokens=10_000, max_batch_size=4, max_wait_ms=1, queue_size=10)
        with pytest.raises(NotReadyError):
            await batcher.submit(["x"])
        await batcher.start()
        await batcher.stop()
        with pytest.raises(NotReadyError):
            await batcher.submit(["x"])

    asyncio.run(scenario())


def _hold_inference(client: TestClient) -> threading.Event:
    """Occupy the app's single inference thread until the returned event is set (a slow forward pass)."""
    release = threading.Event()
    client.app.state.batcher._executor.submit(release.wait, 10)
    return release


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_concurrent_http_requests_are_micro_batched(make_client: Callable[..., TestClient],
                                                    auth: dict[str, str]) -> None:
    client = make_client(microbatch_max_wait_ms=100, microbatch_max_size=64)
    metrics = client.app.state.metrics
    release = _hold_inference(client)
    n = 12
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(client.post, "/v1/classify", json={"text": f"parcel {i} is late"}, headers=auth)
                   for i in range(n)]
        # all requests queue behind the busy model before it is released
        _wait_for(lambda: metrics.sample("ticketguard_queue_accepted_total") == n)
        release.set()
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * n
    assert all(r.json()["label"] in LABELS for r in responses)
    batches = metrics.sample("ticketguard_batch_size_count")
    assert metrics.sample("ticketguard_batch_size_sum") == n
    # 12 requests in at most 3 forward passes (without batching: 12); the first batch may close before all
    # requests arrived, everything that queued behind it forms the next one
    assert batches <= 3
    assert metrics.sample("ticketguard_batch_size_bucket", {"le": "1.0"}) < batches  # a batch of several messages


def test_full_queue_gives_503_with_retry_after(make_client: Callable[..., TestClient], auth: dict[str, str]) -> None:
    client = make_client(microbatch_queue_size=2, max_batch_items=2, microbatch_max_size=1, microbatch_max_wait_ms=0,
                         retry_after_seconds=3)
    batcher = client.app.state.batcher
    release = _hold_inference(client)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(client.post, "/v1/classify", json={"text": "first"}, headers=auth)
        _wait_for(lambda: batcher.depth == 0 and client.app.state.metrics.sample(
            "ticketguard_http_requests_total", {"method": "POST", "route": "/v1/classify", "status": "200"}) is None)
        time.sleep(0.1)  # the worker has taken "first" and waits for the busy inference thread
        queued = [pool.submit(client.post, "/v1/classify", json={"text": f"q{i}"}, headers=auth) for i in range(2)]
        _wait_for(lambda: batcher.depth == 2)
        refused = client.post("/v1/classify", json={"text": "no room"}, headers=auth)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert refused.json()["error"]["code"] == "overloaded"
        release.set()
        assert [f.result().status_code for f in [first, *queued]] == [200, 200, 200]
    # the worker survived: the service answers normally afterwards
    assert client.post("/v1/classify", json={"text": "again"}, headers=auth).status_code == 200
