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

The service does two more things, against PostgreSQL: it builds the book from the read models
(``harbour.risk.loader.load_book``: ``balances``, ``accounts``, ``margin_calls``) and reads the
named accounts' exact balances (``harbour.collateral.stress.exact_holdings``), in one
REPEATABLE READ snapshot. Both are timed too, on an embedded PostgreSQL whose read models are
seeded by COPY with the first HARBOUR_BENCH_STRESS_LOAD_ACCOUNTS accounts of the same book
(default 100,000, so that the whole bench runs in under two minutes; the in-memory part stays
at HARBOUR_BENCH_RISK_ACCOUNTS), as the projector would have left them, before the in-memory
part fills the process. The two are printed apart, and the whole scaled to the in-memory size
(the load by accounts, the exact read by accounts named).
Nothing is asserted; a missed target prints MISS.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import time
from decimal import Decimal

import numpy as np
import psycopg
import sqlalchemy as sa

from bench.common import Report, Row, Target, embedded_server, fresh_database
from bench.risk import ACCOUNTS, BEFORE, NOW, Synthetic, best_of, the_policy
from harbour.collateral.stress import exact_holdings as read_exact_holdings
from harbour.ledger import events as ev
from harbour.ledger import stress
from harbour.ledger.account import RiskState
from harbour.ledger.policy import CollateralPolicy
from harbour.ledger.valuation import Holdings
from harbour.risk.book import RiskBook
from harbour.risk.loader import READ_MODELS, load_book
from harbour.runtime.database import open_database

ROUNDS = 3
LOAD_ACCOUNTS = min(ACCOUNTS, int(os.environ.get("HARBOUR_BENCH_STRESS_LOAD_ACCOUNTS", "100000")))
LOAD_ROUNDS = 2
SCENARIO = stress.scenario(
    "crypto_winter",
    (ev.PriceShock("BTC", Decimal("-0.30")), ev.PriceShock("ETH", Decimal("-0.40"))),
    Decimal("-0.20"),
)
BARE = "bare numpy pass (quantities @ prices)"
STRESS = "stress test: screen + exact valuation of the named"
SCREEN = "its screen alone (RiskBook.stresses)"
LOAD = "load_book from PostgreSQL (balances, accounts, margin calls)"
EXACT_READ = "exact balances of the named from PostgreSQL"


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


def seed_read_models(url: str, data: Synthetic, count: int) -> int:
    """The read models of the first ``count`` accounts as the projector leaves them, by COPY:
    a balance row per client ledger account and asset (the loan negative), an account row, an
    open call for a client recorded in MARGIN_CALL, and the three checkpoints. Rows written."""
    held = {
        "BTC": data.btc_sat,
        "ETH": data.eth_gwei,
        "HKD": data.hkd_cents,
        **data.shares,
    }
    written = 0
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy("COPY balances (ledger_account, asset, amount) FROM STDIN") as copy:
            for n in range(count):
                client = data.ids[n]
                for code, column in held.items():
                    quantity = int(column[n]) * (10**9 if code == "ETH" else 1)  # gwei -> wei
                    if quantity:
                        kind = "cash" if code == "HKD" else "custody"
                        copy.write_row((f"client:{client}:{kind}", code, quantity))
                        written += 1
                debt = int(data.debt_cents[n])
                if debt:
                    copy.write_row((f"client:{client}:loan", "HKD", -debt))
                    written += 1
        columns = (
            "client_id, status, risk_state, suspended, may_borrow, version, last_position, state"
        )
        with cursor.copy(f"COPY accounts ({columns}) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((data.ids[n], "active", data.risk[n].value, False, True, 1, 0, "{}"))
                written += 1
        columns = "call_id, client_id, amount, deadline, state, issued_at, closed_at, position"
        with cursor.copy(f"COPY margin_calls ({columns}) FROM STDIN") as copy:
            for n in range(count):
                if data.risk[n] is RiskState.MARGIN_CALL:
                    row = (f"MC-{data.ids[n]}", data.ids[n], 1, NOW, "open", NOW, None, 0)
                    copy.write_row(row)
                    written += 1
        for name in READ_MODELS:
            cursor.execute(
                "INSERT INTO projection_checkpoints (name, txid, position, updated_at) "
                "VALUES (%s, '1', 0, now())",
                (name,),
            )
        cursor.execute("ANALYZE balances, accounts, margin_calls")
    return written


async def load_and_read(
    url: str, prices: dict[str, Decimal], policy: CollateralPolicy
) -> tuple[float, float, int, int]:
    """As StressTests.compute does it: the book from the read models, then the named
    accounts' exact balances, in one snapshot. (load seconds, read seconds, accounts, named)"""
    database = await open_database(url, role=None, pool_size=1)
    try:
        async with database.engine.connect() as conn:
            await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            start = time.perf_counter()
            loaded = await load_book(conn)
            loaded_at = time.perf_counter()
            named = loaded.book.stresses(prices, policy)
            named_at = time.perf_counter()
            holdings = await read_exact_holdings(conn, named)
            read_at = time.perf_counter()
            assert len(holdings) == len(named)
    finally:
        await database.close()
    return loaded_at - start, read_at - named_at, len(loaded.book), len(named)


def time_database_part(
    data: Synthetic, prices: dict[str, Decimal], policy: CollateralPolicy
) -> tuple[float, float, int, int, int]:
    """Best of LOAD_ROUNDS: (load seconds, exact read seconds, accounts, named, rows seeded)."""
    with embedded_server() as admin:
        url = fresh_database(admin, "bench_stress")
        print(f"seeding the read models of {LOAD_ACCOUNTS:,} accounts ...", flush=True)
        rows = seed_read_models(url, data, LOAD_ACCOUNTS)
        print(f"timing load_book, {LOAD_ROUNDS} rounds ...", flush=True)
        runs = [asyncio.run(load_and_read(url, prices, policy)) for _ in range(LOAD_ROUNDS)]
    load = min(run[0] for run in runs)
    read = min(run[1] for run in runs)
    return load, read, runs[0][2], runs[0][3], rows


def main() -> None:
    started = time.perf_counter()
    policy = the_policy()
    print(f"generating {ACCOUNTS:,} accounts ...", flush=True)
    data = Synthetic(ACCOUNTS, policy)
    seen = NOW
    points = {code: ev.PricePoint(code, "HKD", p, seen, "bench") for code, p in BEFORE.items()}
    shocked = stress.shocked_prices(points, SCENARIO)
    prices = {code: p.price for code, p in shocked.items()}
    # First, with nothing but the generated columns in memory, as in a service process.
    load_seconds, read_seconds, loaded, db_named, seeded = time_database_part(data, prices, policy)
    gc.collect()
    book = RiskBook.from_columns(data.ids, data.held(), {"HKD": data.debt_cents / 100}, data.risk)
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
    # At the in-memory size: the load scaled by accounts, the exact read by accounts named.
    whole = best[STRESS] + load_seconds * ACCOUNTS / loaded + read_seconds * named / db_named

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
        Row(
            LOAD,
            1,
            loaded,
            load_seconds,
            note=f"accounts; {seeded:,} read-model rows; best of {LOAD_ROUNDS}",
        ),
        Row(EXACT_READ, 1, db_named, read_seconds, note=f"accounts named of {loaded:,}"),
    ]
    report.targets = [
        Target(
            f"a stress test over {ACCOUNTS:,} accounts within 60 s, in memory",
            report.row(STRESS).rate,
            ACCOUNTS / 60,
            "accounts/s",
        ),
        Target(
            f"the same with the book read from PostgreSQL (scaled from {loaded:,})",
            ACCOUNTS / whole,
            ACCOUNTS / 60,
            "accounts/s",
        ),
    ]
    report.environment |= {
        "scenario": "BTC -30%, ETH -40%, securities -20%",
        "warned / called / liquidated / short": (
            f"{summary.warned:,} / {summary.called:,} / {summary.liquidated:,} / {summary.short:,}"
        ),
        "expected shortfall (HKD)": f"{Decimal(summary.shortfall).scaleb(-2):,}",
        "stress test in memory (s)": round(best[STRESS], 3),
        f"load_book from PostgreSQL, {loaded:,} accounts (s)": round(load_seconds, 3),
        f"exact balances of the {db_named:,} named from PostgreSQL (s)": round(read_seconds, 3),
        f"both from PostgreSQL scaled to {ACCOUNTS:,} + in memory (s)": round(whole, 1),
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
        f"stress test in memory {took:.3f} s over {ACCOUNTS:,} accounts ({named:,} valued "
        f"exactly); screen {best[SCREEN]:.3f} s; bare numpy pass {best[BARE]:.4f} s; "
        f"stress/bare time {took / best[BARE]:.0f}x; "
        f"target < 60 s: {'PASS' if took < 60 else 'MISS'}"
    )
    print(
        f"from PostgreSQL: load_book {load_seconds:.3f} s over {loaded:,} accounts "
        f"({loaded / load_seconds:,.0f}/s), exact balances of the {db_named:,} named "
        f"{read_seconds:.3f} s; scaled to {ACCOUNTS:,} accounts with the in-memory part: "
        f"{whole:.1f} s"
    )
    report.save("stress")


if __name__ == "__main__":
    main()
