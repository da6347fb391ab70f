"""bench.lending reports the median of its draw rounds: one noisy round neither makes nor
breaks the DrawLoan target."""

from __future__ import annotations

from bench.lending import median_run


def _run(draws: int) -> tuple[int, list[float], dict[str, int]]:
    return draws, [draws / 1000], {}


def test_the_median_round_is_reported_whichever_order_the_rounds_ran_in() -> None:
    assert median_run([_run(936), _run(830), _run(909)]) == _run(909)
    assert median_run([_run(909), _run(936), _run(830)]) == _run(909)


def test_of_an_even_number_of_rounds_the_lower_middle_one_is_reported() -> None:
    assert median_run([_run(4), _run(1), _run(3), _run(2)]) == _run(2)


def test_one_round_is_its_own_median() -> None:
    assert median_run([_run(355)]) == _run(355)
