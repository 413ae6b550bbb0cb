"""Two replicas on one PostgreSQL: the inbox and the outbox are claimed with FOR UPDATE SKIP LOCKED, so nothing
is classified or written back twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.service.fake_helpdesk import FakeHelpdesk
from tests.service.test_webhooks import zendesk_comment, zendesk_headers
from tests.service.test_writeback import FAST_RETRIES, settle, zendesk_config

TICKETS = 40


def classified(client: TestClient) -> float:
    """Messages this replica handed to its model."""
    return client.app.state.metrics.registry.get_sample_value("ticketguard_queue_accepted_total") or 0.0


@pytest.mark.postgres
def test_two_replicas_classify_and_write_each_message_once(make_client: Callable[..., TestClient], pg_url: str,
                                                           helpdesk: FakeHelpdesk) -> None:
    replicas = [make_client(database_url=pg_url, zendesk_writeback=zendesk_config(helpdesk), inbox_batch=4,
                            **FAST_RETRIES) for _ in range(2)]

    def deliver(ticket: int) -> int:
        body = json.dumps(zendesk_comment(ticket=str(ticket), comment=f"c{ticket}")).encode()
        response = replicas[ticket % 2].post("/v1/webhooks/zendesk", content=body,
                                             headers={"Content-Type": "application/json", **zendesk_headers(body)})
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(deliver, range(TICKETS))) == [200] * TICKETS
    for replica in replicas:
        replica.app.state.inbox_worker.wake()
    rows = settle(replicas[0])
    settle(replicas[1])
    assert sum(classified(r) for r in replicas) == TICKETS  # no message reached a model twice
    assert sorted(int(r.ticket_id) for r in rows) == list(range(TICKETS))
    assert {r.status for r in rows} == {"done"}
    written = helpdesk.wait_for(TICKETS)
    assert len(helpdesk.requests) == TICKETS  # one write per ticket, from whichever replica claimed it
    assert sorted(r.path for r in written) == sorted(f"/api/v2/tickets/{t}" for t in range(TICKETS))
