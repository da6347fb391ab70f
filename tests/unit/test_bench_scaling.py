"""The scaling benchmark's reading of the group-commit histogram (bench/scaling.py)."""

from __future__ import annotations

from bench.scaling import batch_totals, mean_batch
from harbour.ledger.exposure import EXPOSURE_STREAM
from harbour.metrics import GROUP_COMMIT_BATCH


def test_mean_batch_counts_only_the_exposure_streams_statements_since_the_first_reading() -> None:
    before = batch_totals()
    GROUP_COMMIT_BATCH.labels(EXPOSURE_STREAM).observe(3)
    GROUP_COMMIT_BATCH.labels(EXPOSURE_STREAM).observe(7)
    GROUP_COMMIT_BATCH.labels("another-hot-stream").observe(64)
    after = batch_totals()
    assert after[1] - before[1] == 2  # statements
    assert mean_batch(before, after) == 5.0


def test_no_statement_between_two_readings_is_a_mean_of_zero() -> None:
    reading = batch_totals()
    assert mean_batch(reading, reading) == 0.0
