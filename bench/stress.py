"""Stress test benchmark: part of `make bench-risk` (python -m bench.stress).

One stress scenario (BTC -30%, ETH -40%, every security -20%) over
HARBOUR_BENCH_RISK_ACCOUNTS synthetic accounts (default 1,000,000; the same book as
``bench.risk``) held in a :class:`harbour.risk.book.RiskBook`, done as ``RunStressTest`` does
it in memory: the book's float pass names the accounts that may be warned, called, liquidated
or short (``RiskBook.stresses``), and only those are valued exactly
(``harbour.ledger.stress``: exact valuation and net proceeds, their exact holdings built from
the integer columns as the service reads them from the balances read model). Measured, best
of a few interleaved rounds, next to a bare numpy pass over the same quantity array in the
same run (``quantities @ prices``: the least any revaluation of the book must do), and next
to what the exact rule alone would take over every account (its rate on the named accounts).
Nothing is asserted; a missed target prints MISS.
"""

from __future__ import annotations

import gc
import os
import platform
import time
from decimal import Decimal

import numpy as np

from bench.common import Report, Row, Target
from bench.risk import ACCOUNTS, BEFORE, NOW, Synthetic, best_of, the_policy
from harbour.ledger import events as ev
from harbour.ledger import stress
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import Holdings
from harbour.risk.book import RiskBook

ROUNDS = 3
SCENARIO = stress.scenario(
    "crypto_winter",
    (ev.PriceShock("BTC", Decimal("-0.30")), ev.PriceShock("ETH", Decimal("-0.40"))),
    Decimal("-0.20"),
)
BARE = "bare numpy pass (quantities @ prices)"
STRESS = "stress test: screen + exact valuation of the named"
SCREEN = "its screen alone (RiskBook.stresses)"


def exact_holdings(data: Synthetic, rows: list[int]) -> list[Holdings]:
    """The named accounts exactly, in minor units (ETH from gwei to wei)."""
    found = []
    for n in rows:
        assets = {
            "BTC": int(data.btc_sat[n]),
            "ETH": int(data.eth_gwei[n]) * 10**9,
            "HKD": int(data.hkd_cents[n]),
            **{code: int(shares[n]) for code, shares in data.shares.items()},
        }
        debt = int(data.debt_cents[n])
        found.append(
            Holdings(
                data.ids[n],
                {code: q for code, q in sorted(assets.items()) if q},
                {"HKD": debt} if debt else {},
            )
        )
    return found


def run_stress(
    data: Synthetic,
    book: RiskBook,
    shocked: dict[str, ev.PricePoint],
    policy: CollateralPolicy,
) -> stress.StressSummary:
    rows = book.stress_rows({c: p.price for c, p in shocked.items()}, policy).tolist()
    holdings = exact_holdings(data, rows)
    stressed = stress.stress_accounts(holdings, shocked, policy, NOW)
    return stress.summarise(len(book), stressed)


def main() -> None:
    started = time.perf_counter()
    policy = the_policy()
    print(f"generating {ACCOUNTS:,} accounts ...", flush=True)
    data = Synthetic(ACCOUNTS, policy)
    book = RiskBook.from_columns(data.ids, data.held(), {"HKD": data.debt_cents / 100}, data.risk)
    seen = NOW
    points = {code: ev.PricePoint(code, "HKD", p, seen, "bench") for code, p in BEFORE.items()}
    shocked = stress.shocked_prices(points, SCENARIO)
    prices = {code: p.price for code, p in shocked.items()}
    quantities = book.quantities()
    bare_prices = np.array([float(prices.get(code, 1)) for code in book.assets])
    print(f"timing {ROUNDS} rounds ...", flush=True)
    best, results = best_of(
        ROUNDS,
        {
            BARE: lambda: quantities @ bare_prices,
            SCREEN: lambda: book.stresses(prices, policy),
            STRESS: lambda: run_stress(data, book, shocked, policy),
        },
    )
    summary: stress.StressSummary = results[STRESS]
    named = summary.valued_exactly
    exact_seconds = best[STRESS] - best[SCREEN]
    exact_rate = named / exact_seconds if exact_seconds > 0 else 0.0
    gc.collect()

    report = Report(
        "Stress test",
        environment={
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "load average (1 min) at start": round(os.getloadavg()[0], 2),
        },
    )
    report.rows = [
        Row(BARE, 1, ACCOUNTS, best[BARE], note=f"accounts; best of {ROUNDS}"),
        Row(
            SCREEN,
            1,
            ACCOUNTS,
            best[SCREEN],
            BARE,
            f"accounts; {named:,} named of {ACCOUNTS:,}",
        ),
        Row(
            STRESS,
            1,
            ACCOUNTS,
            best[STRESS],
            BARE,
            f"accounts; exact valuation of the {named:,} named at {exact_rate:,.0f}/s",
        ),
    ]
    report.targets = [
        Target(
            f"a stress test over {ACCOUNTS:,} accounts within 60 s",
            report.row(STRESS).rate,
            ACCOUNTS / 60,
            "accounts/s",
        )
    ]
    report.environment |= {
        "scenario": "BTC -30%, ETH -40%, securities -20%",
        "warned / called / liquidated / short": (
            f"{summary.warned:,} / {summary.called:,} / {summary.liquidated:,} / {summary.short:,}"
        ),
        "expected shortfall (HKD)": f"{Decimal(summary.shortfall).scaleb(-2):,}",
        "stress test (s)": round(best[STRESS], 3),
        "screen (s)": round(best[SCREEN], 3),
        "bare numpy pass (s)": round(best[BARE], 4),
        "exact rule over every account (s, at the named rate)": (
            round(ACCOUNTS / exact_rate, 1) if exact_rate else "n/a"
        ),
        "bench seconds": round(time.perf_counter() - started),
    }
    print(report.markdown())
    took = best[STRESS]
    print(
        f"stress test {took:.3f} s over {ACCOUNTS:,} accounts ({named:,} valued exactly); "
        f"screen {best[SCREEN]:.3f} s; bare numpy pass {best[BARE]:.4f} s; "
        f"stress/bare time {took / best[BARE]:.0f}x; "
        f"target < 60 s: {'PASS' if took < 60 else 'MISS'}"
    )
    report.save("stress")


if __name__ == "__main__":
    main()
