"""The collector pause around a big valuation batch: on for a big one, left as it was found."""

from __future__ import annotations

import gc

import pytest

from harbour.collector import PAUSE_COLLECTOR_FROM, collector_paused, collector_paused_for


def test_a_big_batch_pauses_the_collector_and_restores_it() -> None:
    big = range(PAUSE_COLLECTOR_FROM)
    assert gc.isenabled()
    with collector_paused_for(big):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_small_batch_leaves_the_collector_running() -> None:
    with collector_paused_for(range(PAUSE_COLLECTOR_FROM - 1)):
        assert gc.isenabled()
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        with collector_paused_for(range(PAUSE_COLLECTOR_FROM)):
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_restored_when_the_batch_fails() -> None:
    with pytest.raises(ValueError), collector_paused_for(range(PAUSE_COLLECTOR_FROM)):
        raise ValueError("a price is missing")
    assert gc.isenabled()


def test_overlapping_pauses_restore_the_collector_when_the_last_one_ends() -> None:
    # A bulk accrual pauses across awaits while a valuation page pauses on its own: the two
    # spans overlap without nesting, and the first to end must not switch it back on.
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
