"""A bounded, mixed margin-lending workload over gRPC, and the checks that follow it.

The mix: onboarding (client, first collateral, facility), cash and collateral deposits and
withdrawals, loan draws and repayments, and price ticks, from many concurrent callers against
the accounts, collateral and lending services. Setup first: the governed policy change that
makes 0700.HK eligible and sets broker limits low enough to be reached during a run (maker and
checker), a first price per asset, and the initial borrowers.

Callers retry transient failures (UNAVAILABLE, ABORTED, INTERNAL, DEADLINE_EXCEEDED) with the
same request_id, as a real trading platform would; every acknowledged command is recorded.
Price ticks are a price feed: small moves (a fraction of a percent, kept within a few percent
of the starting price), one observation at a time per asset with strictly increasing
observed_at, so the service never has reason to reject one.

Afterwards `check` proves against the database (read models caught up first, e.g. by
`harbour projections verify`): each acknowledged command applied exactly once (its command-log
row, and its events present once each, inside the logged positions), the trial balance zero,
no negative holding, and the lending limits: every account's principal within its credit
limit, the `broker-exposure` stream's total and per-group figures equal to the principals in
the account streams (and the `loans` read model), and within the policy's broker-wide limits.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import psycopg
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from bench.common import CREDIT_CHECKER, token_caller
from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    collateral_pb2,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount, Price
from harbour.ledger import events as ev
from harbour.ledger.account import MarginAccount, evolve
from harbour.ledger.exposure import EXPOSURE_STREAM, replay_exposure
from harbour.ledger.policy import POLICY_STREAM, PolicyHistory, evolve_policy
from harbour.testing import credit

OPERATOR = token_caller("load:operator+trading-platform")
RISK = token_caller("load-risk:risk")
FEED = token_caller("load-feed:price-feed")
MAKER = token_caller("load-alice:policy-admin")
CHECKER = token_caller("load-bob:policy-admin")
TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}
SERVICES = ("accounts", "collateral", "lending")

# The policy the load runs under. Broker limits low enough that a run reaches them, so the
# broker-wide rules are decided under contention: total margin loans <= 5 x 400,000 =
# HKD 2,000,000 (reached after ~15 s of `make load`); one client or group <= 20% x 300,000 =
# HKD 60,000, below the 100,000 credit limit of most clients (a quarter have 20,000).
POLICY = {
    "haircut.0700.HK": "0.30",
    "broker.capital": "400000.00",
    "broker.shareholders_funds": "300000.00",
}
START_PRICES = {
    "BTC": Decimal("500000.00"),
    "ETH": Decimal("20000.00"),
    "0700.HK": Decimal("400.00"),
}
TICK = 0.004  # the largest move of one tick (0.4%)
BAND = 0.05  # ticks stay within 5% of the starting price

# The mixed phase: command kind -> share of picks.
MIX = {
    "onboarding": 0.03,
    "DepositCash": 0.20,
    "WithdrawCash": 0.12,
    "DepositCollateral": 0.10,
    "WithdrawCollateral": 0.08,
    "DrawLoan": 0.20,
    "RepayLoan": 0.15,
    "RecordPrice": 0.12,
}
# Event types one command writes once each: a type twice under one request_id means twice.
MOVEMENTS = (
    "ClientOnboarded",
    "MarginFacilityApproved",
    "CashDeposited",
    "CashWithdrawn",
    "CollateralDeposited",
    "CollateralWithdrawn",
    "LoanAdvanced",
    "LoanRepaid",
    "PriceObserved",
    "PriceRejected",
)


@dataclass
class Stats:
    acknowledged: dict[str, int] = field(default_factory=dict)  # request_id -> position
    latencies: list[float] = field(default_factory=list)  # the mixed phase, every kind
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refusals: Counter[str] = field(default_factory=Counter)  # "rpc: reason"
    retries: int = 0
    retried: Counter[str] = field(default_factory=Counter)  # "rpc: status code"
    refusal_samples: dict[str, str] = field(default_factory=dict)  # one message per refusal
    commands: Counter[str] = field(default_factory=Counter)  # acknowledged, mixed phase
    price_rejections: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # the mixed phase's duration
    setup_commands: int = 0

    def percentile(self, p: float, kind: str | None = None) -> float:
        values = self.latencies if kind is None else self.by_kind.get(kind, [])
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    def per_kind(self) -> str:
        """One line per command kind: count, rate, p50 and p99."""
        lines = []
        for kind in sorted(self.by_kind, key=lambda k: -len(self.by_kind[k])):
            count = len(self.by_kind[kind])
            rate = count / self.seconds if self.seconds else 0.0
            lines.append(
                f"{kind:<20} {count:>7,} acknowledged {rate:>8,.1f}/s  "
                f"p50 {self.percentile(0.5, kind):7.1f} ms  "
                f"p99 {self.percentile(0.99, kind):7.1f} ms"
            )
        return "\n".join(lines)


def _at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _hkd(value: str) -> Amount:
    return Amount(asset="HKD", value=value)


def reason(error: grpc.aio.AioRpcError) -> str:
    """The refusal's stable reason (google.rpc.ErrorInfo), else the status code's name."""
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:
        status = None
    if status is not None:
        info = error_details_pb2.ErrorInfo()
        for detail in status.details:
            if detail.Unpack(info):
                return info.reason
    return error.code().name


class PriceFeed:
    """One observation at a time per asset, strictly later each time, a small move each."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._locks = {code: asyncio.Lock() for code in START_PRICES}
        self._walk = dict.fromkeys(START_PRICES, 0.0)  # log-distance from the start price
        self._last: dict[str, datetime] = {}

    def lock(self, code: str) -> asyncio.Lock:
        return self._locks[code]

    def next(self, code: str) -> collateral_pb2.RecordPriceRequest:
        """The next observation (call with the asset's lock held)."""
        step = self._rng.uniform(-TICK, TICK)
        walk = self._walk[code] + step
        if abs(walk) > math.log1p(BAND):
            walk = self._walk[code] - step  # turn back at the band's edge
        self._walk[code] = walk
        price = START_PRICES[code] * Decimal(math.exp(walk))
        now = datetime.now(UTC)
        last = self._last.get(code)
        observed = now if last is None or now > last else last + timedelta(microseconds=1)
        self._last[code] = observed
        return collateral_pb2.RecordPriceRequest(
            request_id=uuid.uuid4().hex,
            price=Price(base_asset=code, quote_asset="HKD", value=f"{price:.2f}"),
            observed_at=_at(observed),
            source="load-feed",
        )


class Workload:
    """``addresses`` names each service's host:port (accounts, collateral, lending)."""

    def __init__(self, addresses: Mapping[str, str], *, clients: int = 48, seed: int = 1) -> None:
        missing = set(SERVICES) - set(addresses)
        if missing:
            raise ValueError(f"no address for {', '.join(sorted(missing))}")
        self._addresses = dict(addresses)
        self._seed = seed
        self._initial = clients
        self._clients: list[str] = []
        self._onboarded = 0
        self._rng = random.Random(seed)
        self._feed = PriceFeed(random.Random(seed * 7919))
        self._run = uuid.uuid4().hex[:6]
        self._timed = False
        self.stats = Stats()

    # --------------------------------------------------------------------------- the run
    async def run(self, *, callers: int, seconds: float, rate: float | None = None) -> Stats:
        """The mix from ``callers`` closed-loop callers (each sends when answered) for
        ``seconds``; or, given a ``rate``, open-loop: one command every 1/``rate`` seconds
        whether or not the earlier ones were answered (``callers`` then only sets up)."""
        options = [
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ]
        channels = {
            name: grpc.aio.insecure_channel(self._addresses[name], options=options)
            for name in SERVICES
        }
        try:
            self._accounts = accounts_pb2_grpc.AccountsServiceStub(channels["accounts"])
            self._collateral = collateral_pb2_grpc.CollateralServiceStub(channels["collateral"])
            self._lending = lending_pb2_grpc.LendingServiceStub(channels["lending"])
            await self._setup(callers)
            self._timed = True
            started = time.perf_counter()
            deadline = time.monotonic() + seconds
            if rate is None:
                await asyncio.gather(*(self._caller(deadline) for _ in range(callers)))
            else:
                await self._open_loop(rate, deadline)
            self.stats.seconds = time.perf_counter() - started
        finally:
            for channel in channels.values():
                await channel.close()
        return self.stats

    async def _setup(self, callers: int) -> None:
        proposal = f"load-{self._seed}-{self._run}"
        await self._call(
            self._collateral,
            "ProposePolicyChange",
            collateral_pb2.ProposePolicyChangeRequest(
                request_id=f"{proposal}-propose",
                proposal_id=proposal,
                parameters=[
                    collateral_pb2.PolicyParameter(name=k, value=v) for k, v in POLICY.items()
                ],
                effective_from=_at(datetime.now(UTC)),
            ),
            MAKER,
        )
        await self._call(
            self._collateral,
            "ApprovePolicyChange",
            collateral_pb2.ApprovePolicyChangeRequest(
                request_id=f"{proposal}-approve", proposal_id=proposal
            ),
            CHECKER,
        )
        for code in START_PRICES:
            await self._tick(code)
        pending = iter(range(self._initial))

        async def onboard() -> None:
            for _ in pending:
                await self._onboarding()

        await asyncio.gather(*(onboard() for _ in range(min(callers, self._initial))))

    async def _caller(self, deadline: float) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < deadline:
            await self._one(self._rng.choices(kinds, weights)[0])

    async def _open_loop(self, rate: float, deadline: float) -> None:
        """A broker's platform sends at its own pace: commands start on a fixed schedule, and
        a slow answer queues the next ones behind it instead of delaying them (so latencies
        include that queueing, none is hidden by a caller waiting)."""
        kinds, weights = list(MIX), list(MIX.values())
        running: set[asyncio.Task[None]] = set()
        started, sent = time.monotonic(), 0
        while time.monotonic() < deadline:
            task = asyncio.create_task(self._one(self._rng.choices(kinds, weights)[0]))
            running.add(task)
            task.add_done_callback(running.discard)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
        await asyncio.gather(*running)

    async def _one(self, kind: str) -> None:
        if kind == "onboarding":
            await self._onboarding()
        elif kind == "RecordPrice":
            await self._tick(self._rng.choice(list(START_PRICES)))
        else:
            await self._account_command(kind)

    # --------------------------------------------------------------------------- commands
    async def _onboarding(self) -> None:
        """A new client: onboarding, a first collateral deposit, a facility (some small)."""
        n = self._onboarded
        self._onboarded += 1
        client = f"L{self._seed}x{n}"
        limit = "20000.00" if n % 4 == 3 else "100000.00"  # some hit their credit limit
        ok = await self._call(
            self._accounts,
            "OnboardClient",
            accounts_pb2.OnboardClientRequest(
                request_id=f"onboard-{self._run}-{client}",
                client_id=client,
                securities_margin_account_id=f"SMA-{client}",
                credit_grade="A",
                margin_agreement_version="MA-2026",
                risk_disclosure_version="VARD-1",
                credit_limit=_hkd(limit),
            ),
            OPERATOR,
            kind="OnboardClient",
        )
        for approval in credit.approval_requests(client):  # the grade and limit, by a checker
            ok = ok and await self._call(
                self._accounts, "ApproveClientFact", approval, CREDIT_CHECKER
            )
        ok = ok and await self._call(
            self._accounts,
            "DepositCollateral",
            accounts_pb2.DepositCollateralRequest(
                request_id=uuid.uuid4().hex,
                client_id=client,
                quantity=Amount(asset="0700.HK", value=str(self._rng.randint(200, 600))),
                reference="load",
            ),
            OPERATOR,
        )
        ok = ok and await self._call(
            self._lending,
            "ApproveFacility",
            lending_pb2.ApproveFacilityRequest(
                request_id=uuid.uuid4().hex,
                client_id=client,
                facility_id=f"F-{client}",
                credit_limit=_hkd(limit),
                annual_rate="0.068",
            ),
            RISK,
        )
        if ok:
            self._clients.append(client)

    async def _tick(self, code: str) -> None:
        async with self._feed.lock(code):  # one observation of an asset at a time
            request = self._feed.next(code)
            reply = await self._call(self._collateral, "RecordPrice", request, FEED, reply=True)
        if reply is not None and not reply.accepted:
            self.stats.price_rejections[reply.rejection_reason] += 1

    async def _account_command(self, kind: str) -> None:
        if not self._clients:
            return
        rng = self._rng
        client, rid = rng.choice(self._clients), uuid.uuid4().hex
        cash = _hkd(f"{rng.randint(1, 2000)}.{rng.randint(0, 99):02d}")
        if kind in ("DepositCollateral", "WithdrawCollateral"):
            code = rng.choice(("BTC", "BTC", "ETH", "0700.HK"))
            quantity = {
                "BTC": f"0.{rng.randint(1, 10**6):08d}",
                "ETH": f"0.{rng.randint(1, 10**7):08d}",
                "0700.HK": str(rng.randint(1, 50)),
            }[code]
            message = (
                accounts_pb2.DepositCollateralRequest
                if kind == "DepositCollateral"
                else accounts_pb2.WithdrawCollateralRequest
            )
            request: Any = message(
                request_id=rid,
                client_id=client,
                quantity=Amount(asset=code, value=quantity),
                reference="load",
            )
            await self._call(self._accounts, kind, request, OPERATOR)
        elif kind in ("DepositCash", "WithdrawCash"):
            message = (
                accounts_pb2.DepositCashRequest
                if kind == "DepositCash"
                else accounts_pb2.WithdrawCashRequest
            )
            request = message(request_id=rid, client_id=client, amount=cash, reference="load")
            await self._call(self._accounts, kind, request, OPERATOR)
        elif kind == "DrawLoan":
            amount = _hkd(f"{rng.randint(100, 8000)}.00")
            request = lending_pb2.DrawLoanRequest(request_id=rid, client_id=client, amount=amount)
            await self._call(self._lending, kind, request, OPERATOR)
        else:  # RepayLoan
            request = lending_pb2.RepayLoanRequest(request_id=rid, client_id=client, amount=cash)
            await self._call(self._lending, kind, request, OPERATOR)

    async def _call(
        self,
        stub: Any,
        rpc: str,
        request: Any,
        metadata: Any,
        *,
        kind: str | None = None,
        reply: bool = False,
    ) -> Any:
        """The call, retried with the same request_id on transient failures; True (or the
        reply) when acknowledged, False (None) when refused."""
        started = time.perf_counter()
        for attempt in range(200):
            try:
                response = await getattr(stub, rpc)(request, metadata=metadata, timeout=5)
            except grpc.aio.AioRpcError as error:
                if error.code() in TRANSIENT:
                    self.stats.retries += 1
                    self.stats.retried[f"{rpc}: {error.code().name}"] += 1
                    await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
                    continue  # same request_id: the service answers it at most once
                refusal = f"{rpc}: {reason(error)}"
                self.stats.refusals[refusal] += 1
                self.stats.refusal_samples.setdefault(refusal, error.details() or "")
                return None if reply else False
            self.stats.acknowledged[request.request_id] = response.result.position
            if self._timed:
                latency = time.perf_counter() - started
                self.stats.latencies.append(latency)
                self.stats.by_kind[kind or rpc].append(latency)
                self.stats.commands[kind or rpc] += 1
            else:
                self.stats.setup_commands += 1
            return response if reply else True
        raise RuntimeError(f"{rpc} {request.request_id} never got an answer")


# ------------------------------------------------------------------------------ the checks


def check(url: str, stats: Stats) -> list[str]:
    """Every invariant the ledger promises after a load; returns the violations.

    Read models must be caught up first (`harbour projections verify` does it); a read model
    behind the feed is reported as a violation rather than checked stale.
    """
    problems: list[str] = []
    with psycopg.connect(url) as conn:
        # Read models at the end of the feed, or the checks below would read stale rows.
        for name, behind in conn.execute(
            "SELECT c.name, (SELECT count(*) FROM events e "
            "WHERE (e.txid, e.position) > (c.txid, c.position)) "
            "FROM projection_checkpoints c WHERE c.name IN ('balances', 'loans')"
        ).fetchall():
            if behind:
                problems.append(f"read model {name} is {behind} events behind the feed")

        # Exactly once: the command-log row, and every event of the request once, in place.
        logged = {
            rid: (first, last)
            for rid, first, last in conn.execute(
                "SELECT request_id, first_position, last_position FROM command_log"
            ).fetchall()
        }
        written: dict[str, list[tuple[str, int, int, int]]] = defaultdict(list)
        for rid, kind, count, low, high in conn.execute(
            "SELECT metadata->>'request_id', type, count(*), min(position), max(position) "
            "FROM event_documents WHERE metadata ? 'request_id' GROUP BY 1, 2"
        ).fetchall():
            written[rid].append((kind, count, low, high))
        for request_id, position in stats.acknowledged.items():
            span = logged.get(request_id)
            if span is None or span[1] != position:
                problems.append(
                    f"acknowledged {request_id} at {position}, logged "
                    f"{None if span is None else span[1]}"
                )
                continue
            events = written.get(request_id, [])
            if not events:
                problems.append(f"acknowledged {request_id}: no event carries its request_id")
            for kind, count, low, high in events:
                if count > 1 and kind in MOVEMENTS:
                    problems.append(f"request {request_id} wrote {kind} {count} times")
                if low < span[0] or high > span[1]:
                    problems.append(
                        f"request {request_id}: {kind} at {low}..{high}, outside its logged "
                        f"{span[0]}..{span[1]}"
                    )
        duplicated = conn.execute(
            "SELECT metadata->>'request_id', type, count(*) FROM event_documents "
            "WHERE type = ANY(%s) GROUP BY 1, 2 HAVING count(*) > 1",
            (list(MOVEMENTS),),
        ).fetchall()
        problems += [f"request {r} applied {n} times ({t})" for r, t, n in duplicated]

        # The ledger balances.
        unbalanced = conn.execute(
            "SELECT asset, sum(amount) FROM balances GROUP BY asset HAVING sum(amount) <> 0"
        ).fetchall()
        problems += [f"trial balance: {a} sums to {s}" for a, s in unbalanced]
        negative = conn.execute(
            "SELECT ledger_account, asset, amount FROM balances WHERE amount < 0 "
            "AND (ledger_account LIKE 'client:%:cash' OR ledger_account LIKE 'client:%:custody')"
        ).fetchall()
        problems += [f"negative holding {a} {s} {m}" for a, s, m in negative]
        problems += _lending_limits(conn)
    return problems


def _decoded(conn: psycopg.Connection[Any], where: str, params: Any) -> list[tuple[str, Any]]:
    rows = conn.execute(
        f"SELECT stream_id, type, schema_version, data FROM event_documents WHERE {where} "  # noqa: S608
        "ORDER BY stream_id, version",
        params,
    ).fetchall()
    return [(stream, ev.decode(kind, version, data)) for stream, kind, version, data in rows]


def _lending_limits(conn: psycopg.Connection[Any]) -> list[str]:
    """Principal within each credit limit; broker-exposure equal to the principals and within
    the policy's limits — from the streams themselves, and the loans read model against them."""
    problems: list[str] = []
    accounts: dict[str, MarginAccount] = {}
    for stream, event in _decoded(conn, "stream_id LIKE %s", ("account-%",)):
        client = stream.removeprefix("account-")
        accounts[client] = evolve(accounts.get(client) or MarginAccount.initial(client), event)
    principals: dict[tuple[str, str], int] = defaultdict(int)  # (group, currency) -> minor
    totals: dict[str, int] = defaultdict(int)
    for client, account in accounts.items():
        limit = account.credit_limit
        for code, minor in account.principal:
            if minor == 0:
                continue
            if limit is None or code != limit.asset.code:
                problems.append(f"{client} owes principal {minor} {code} outside its facility")
            elif minor > limit.minor:
                problems.append(f"{client}: principal {minor} above its credit limit {limit.minor}")
            principals[(account.related_group_id or client, code)] += minor
            totals[code] += minor
    exposure = replay_exposure(
        event for _, event in _decoded(conn, "stream_id = %s", (EXPOSURE_STREAM,))
    )
    if dict(exposure.total) != {c: m for c, m in totals.items() if m}:
        problems.append(
            f"broker-exposure total {dict(exposure.total)} != principals in the accounts "
            f"{dict(totals)}"
        )
    recorded = {
        (group, code): minor
        for group, balances in exposure.by_group.items()
        for code, minor in balances
        if minor
    }
    if recorded != {k: m for k, m in principals.items() if m}:
        problems.append("broker-exposure per group differs from the principals per group")
    history = PolicyHistory()
    for _, event in _decoded(conn, "stream_id = %s", (POLICY_STREAM,)):
        history = evolve_policy(history, event)
    policy = history.latest
    hkd = dict(exposure.total).get("HKD", 0)
    if set(dict(exposure.total)) - {"HKD"}:
        problems.append(f"loans in other currencies than HKD: {dict(exposure.total)}")
    if hkd > policy.total_loans_limit.minor:
        problems.append(f"total margin loans {hkd} above the limit {policy.total_loans_limit}")
    for group, balances in exposure.by_group.items():
        owed = dict(balances).get("HKD", 0)
        if owed > policy.single_client_limit_amount.minor:
            problems.append(f"group {group} owes {owed}, above {policy.single_client_limit_amount}")
    for client, principal in conn.execute("SELECT client_id, principal FROM loans").fetchall():
        account = accounts.get(client)
        limit = account.credit_limit if account else None
        expected = account.principal.get(limit.asset.code) if account and limit else 0
        if int(principal) != expected:
            problems.append(f"loans read model: {client} principal {principal} != {expected}")
    return problems
