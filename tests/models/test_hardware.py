"""Hardware defaults: how many torch threads a server process takes."""

from __future__ import annotations

import pytest

from ticketguard.models.hardware import serving_threads


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_a_server_leaves_one_core_to_its_event_loop(cores: int, threads: int) -> None:
    assert serving_threads(cores) == threads
