"""A bounded, mixed account workload over gRPC, and the checks that follow it.

Callers retry transient failures (UNAVAILABLE, ABORTED, INTERNAL, DEADLINE_EXCEEDED) with the
same request_id, as a real trading platform would; every acknowledged command is recorded.
Afterwards `check` proves against the database: each acknowledged command applied exactly
once, the trial balance zero, no negative holding, read models equal to a rebuild.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
import psycopg

from harbour.api.v1 import accounts_pb2 as pb
from harbour.api.v1 import accounts_pb2_grpc
from harbour.api.v1.common_pb2 import Amount

OPERATOR = (("x-harbour-principal", "load:operator+trading-platform"),)
TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


@dataclass
class Stats:
    acknowledged: dict[str, int] = field(default_factory=dict)  # request_id -> position
    latencies: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    commands: Counter[str] = field(default_factory=Counter)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


class Workload:
    def __init__(self, address: str, *, clients: int = 48, seed: int = 1) -> None:
        self._address = address
        self._clients = [f"L{seed}x{n}" for n in range(clients)]
        self._rng = random.Random(seed)
        self.stats = Stats()

    async def run(self, *, callers: int, seconds: float) -> Stats:
        options = [
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ]
        async with grpc.aio.insecure_channel(self._address, options=options) as channel:
            stub = accounts_pb2_grpc.AccountsServiceStub(channel)
            for client in self._clients:
                await self._call(
                    stub,
                    "OnboardClient",
                    pb.OnboardClientRequest(
                        request_id=f"onboard-{client}",
                        client_id=client,
                        securities_margin_account_id="SMA",
                        credit_grade="A",
                        margin_agreement_version="MA",
                        risk_disclosure_version="VA",
                        credit_limit=Amount(asset="HKD", value="100000.00"),
                    ),
                )
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(self._caller(stub, deadline) for _ in range(callers)))
        return self.stats

    async def _caller(self, stub: Any, deadline: float) -> None:
        while time.monotonic() < deadline:
            rpc, request = self._next()
            await self._call(stub, rpc, request)

    def _next(self) -> tuple[str, Any]:
        client, pick, rid = self._rng.choice(self._clients), self._rng.random(), uuid.uuid4().hex
        cash = Amount(
            asset="HKD", value=f"{self._rng.randint(1, 500)}.{self._rng.randint(0, 99):02d}"
        )
        btc = Amount(asset="BTC", value=f"0.{self._rng.randint(1, 10**6):08d}")
        if pick < 0.40:
            return "DepositCash", pb.DepositCashRequest(
                request_id=rid, client_id=client, amount=cash, reference="load"
            )
        if pick < 0.70:
            return "WithdrawCash", pb.WithdrawCashRequest(
                request_id=rid, client_id=client, amount=cash, reference="load"
            )
        if pick < 0.85:
            return "DepositCollateral", pb.DepositCollateralRequest(
                request_id=rid, client_id=client, quantity=btc, reference="load"
            )
        return "WithdrawCollateral", pb.WithdrawCollateralRequest(
            request_id=rid, client_id=client, quantity=btc, reference="load"
        )

    async def _call(self, stub: Any, rpc: str, request: Any) -> None:
        started = time.perf_counter()
        for attempt in range(200):
            try:
                reply = await getattr(stub, rpc)(request, metadata=OPERATOR, timeout=5)
            except grpc.aio.AioRpcError as error:
                if error.code() in TRANSIENT:
                    self.stats.retries += 1
                    await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
                    continue  # same request_id: the service answers it at most once
                self.stats.refusals[error.code().name] += 1
                return
            self.stats.acknowledged[request.request_id] = reply.result.position
            self.stats.latencies.append(time.perf_counter() - started)
            self.stats.commands[rpc] += 1
            return
        raise RuntimeError(f"{rpc} {request.request_id} never got an answer")


def check(url: str, stats: Stats) -> list[str]:
    """Every invariant the ledger promises after a load; returns the violations."""
    problems: list[str] = []
    with psycopg.connect(url) as conn:
        logged = dict(conn.execute("SELECT request_id, last_position FROM command_log").fetchall())
        for request_id, position in stats.acknowledged.items():
            if logged.get(request_id) != position:
                problems.append(
                    f"acknowledged {request_id} at {position}, logged {logged.get(request_id)}"
                )
        # Every movement is one event: a request id on two movement events was applied twice.
        duplicated = conn.execute(
            "SELECT metadata->>'request_id', count(*) FROM events "
            "WHERE type IN ('CashDeposited', 'CashWithdrawn', 'CollateralDeposited', "
            "'CollateralWithdrawn') GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        problems += [f"request {r} applied {n} times" for r, n in duplicated]
        unbalanced = conn.execute(
            "SELECT asset, sum(amount) FROM balances GROUP BY asset HAVING sum(amount) <> 0"
        ).fetchall()
        problems += [f"trial balance: {a} sums to {s}" for a, s in unbalanced]
        negative = conn.execute(
            "SELECT ledger_account, asset, amount FROM balances WHERE amount < 0 "
            "AND (ledger_account LIKE 'client:%:cash' OR ledger_account LIKE 'client:%:custody')"
        ).fetchall()
        problems += [f"negative holding {a} {s} {m}" for a, s, m in negative]
    return problems
