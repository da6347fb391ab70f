"""`harbour demo`: the ledger's whole story, told against running services over gRPC.

Four borrowers post shares of 0700.HK and one BTC each and draw different amounts; BTC then
halves and the shares fall to 290, which puts one borrower in WARNING, two under a margin call
and one past the forced-sale line. The warned client and one called client cure by depositing
cash; the forced sale runs to its target and that client repays the rest; a second crash
(BTC -60%, shares to 200) leaves the last called client's collateral worth less than its loan,
so its liquidation ends in a deficit, which an operator proposes to write off and a risk officer
approves (maker-checker) before the account is closed. Each borrower's credit grade and limit
are proposed at onboarding by the operator and approved by the risk officer (maker-checker).
Then every hash chain is verified and every decision on the demo's accounts is re-derived from
its recorded basis.

It needs a stack in development mode (`make up`): it names its callers with the development
header, as a platform, a price vendor, two policy administrators, a risk officer and an
operator would be named by their credentials in production. Each run uses fresh client ids, so
it can run again on the same database; it first walks the prices back to their starting levels
in steps the price guard accepts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from harbour.api.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    collateral_pb2,
    collateral_pb2_grpc,
    lending_pb2,
    lending_pb2_grpc,
    liquidation_pb2,
    liquidation_pb2_grpc,
)
from harbour.api.v1.common_pb2 import Amount, Price

Metadata = tuple[tuple[str, str], ...]

PLATFORM: Metadata = (("x-harbour-principal", "demo-desk:trading-platform"),)
VENDOR: Metadata = (("x-harbour-principal", "demo-vendor:price-feed"),)
MAKER: Metadata = (("x-harbour-principal", "demo-alice:policy-admin"),)
CHECKER: Metadata = (("x-harbour-principal", "demo-bob:policy-admin"),)
RISK: Metadata = (("x-harbour-principal", "demo-risk:risk"),)
OPERATOR: Metadata = (("x-harbour-principal", "demo-ops:operator"),)
AUDITOR: Metadata = (("x-harbour-principal", "demo-auditor:auditor"),)

SHARES = "0700.HK"
# Where each run starts, the first crash, the second crash (HKD per unit).
START = {"BTC": Decimal("500000"), SHARES: Decimal("400")}
CRASH = {"BTC": Decimal("250000"), SHARES: Decimal("290")}
COLLAPSE = {"BTC": Decimal("100000"), SHARES: Decimal("200")}
JUMP_BAND = Decimal("0.90")  # wide enough for the collapse; the demo's reset steps inside it

# CV before the crash: shares 1000 x 400 x 0.70 + BTC 500,000 x 0.40 = 480,000; after it,
# 203,000 + 100,000 = 303,000. The draws put each borrower where the story needs it.
BORROWERS = {
    "warned": "287850.00",  # U 95% after the crash: WARNING
    "cured": "348450.00",  # U 115%: MARGIN_CALL, met by a cash deposit
    "sold": "400000.00",  # U 132%: forced sale at once, to the 80% target
    "deficit": "330000.00",  # U 109%: MARGIN_CALL; the collapse then leaves a shortfall
}
CURE_DEPOSITS = {"warned": "200000.00", "cured": "250000.00"}


@dataclass(frozen=True)
class Targets:
    """Where each service answers, ``host:port``."""

    accounts: str
    collateral: str
    lending: str
    liquidation: str
    audit: str


@dataclass
class DemoOutcome:
    """What the run showed, for the summary and for the test that runs it."""

    clients: dict[str, str] = field(default_factory=dict)  # role in the story -> client id
    states_after_crash: dict[str, str] = field(default_factory=dict)
    final_states: dict[str, str] = field(default_factory=dict)
    liquidations: dict[str, str] = field(default_factory=dict)  # role -> "state/outcome"
    fills: dict[str, int] = field(default_factory=dict)
    shortfall: str = ""
    events_verified: int = 0
    chains_intact: bool = False
    decisions_rederived: int = 0
    discrepancies: int = 0


def hkd(value: str | Decimal) -> Amount:
    return Amount(asset="HKD", value=str(value))


def now_stamp() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return stamp


def rid() -> str:
    return uuid.uuid4().hex


def _stub(factory: Any, channel: grpc.aio.Channel) -> Any:
    """A generated stub (grpcio-tools writes them without annotations)."""
    return factory(channel)


class Demo:
    """One run of the story over open channels; ``say`` prints each step."""

    def __init__(
        self, channels: dict[str, grpc.aio.Channel], say: Callable[[str], None], run_id: str
    ) -> None:
        self.accounts = _stub(accounts_pb2_grpc.AccountsServiceStub, channels["accounts"])
        self.collateral = _stub(collateral_pb2_grpc.CollateralServiceStub, channels["collateral"])
        self.lending = _stub(lending_pb2_grpc.LendingServiceStub, channels["lending"])
        self.liquidation = _stub(
            liquidation_pb2_grpc.LiquidationServiceStub, channels["liquidation"]
        )
        self.audit = _stub(audit_pb2_grpc.AuditServiceStub, channels["audit"])
        self.say = say
        self.outcome = DemoOutcome(clients={r: f"DEMO-{run_id}-{r}" for r in BORROWERS})

    def client(self, role: str) -> str:
        return self.outcome.clients[role]

    async def run(self, settle_seconds: float = 60.0) -> DemoOutcome:
        await self.prepare_market()
        await self.open_accounts()
        await self.crash(settle_seconds)
        await self.cure_and_settle()
        await self.collapse(settle_seconds)
        await self.write_off_and_close()
        await self.verify()
        return self.outcome

    # -- the market -------------------------------------------------------------------------

    async def prepare_market(self) -> None:
        self.say("1. Governance: alice proposes, bob approves the policy for the demo")
        await self.policy({f"haircut.{SHARES}": "0.30", "price.jump_band": str(JUMP_BAND)})
        for asset, level in START.items():
            await self.walk_price(asset, level)
        self.say(f"   prices: BTC {START['BTC']} HKD, {SHARES} {START[SHARES]} HKD")

    async def policy(self, parameters: dict[str, str]) -> None:
        proposal = f"demo-{rid()}"
        await self.collateral.ProposePolicyChange(
            collateral_pb2.ProposePolicyChangeRequest(
                request_id=rid(),
                proposal_id=proposal,
                parameters=[
                    collateral_pb2.PolicyParameter(name=k, value=v) for k, v in parameters.items()
                ],
                effective_from=now_stamp(),
            ),
            metadata=MAKER,
        )
        await self.collateral.ApprovePolicyChange(
            collateral_pb2.ApprovePolicyChangeRequest(request_id=rid(), proposal_id=proposal),
            metadata=CHECKER,
        )

    async def walk_price(self, asset: str, target: Decimal) -> None:
        """Moves the price to ``target`` in steps the jump band accepts (a rerun starts where
        the last run's collapse left the market)."""
        current = await self.current_price(asset)
        while current is not None and current != target:
            ceiling = (current * (1 + JUMP_BAND * Decimal("0.95"))).quantize(Decimal(1))
            floor = (current * (1 - JUMP_BAND * Decimal("0.95"))).quantize(Decimal(1))
            current = min(target, ceiling) if target > current else max(target, floor)
            await self.price(asset, current)
        if current is None:
            await self.price(asset, target)

    async def current_price(self, asset: str) -> Decimal | None:
        try:
            got = await self.collateral.GetPrice(
                collateral_pb2.GetPriceRequest(asset=asset), metadata=RISK
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return Decimal(got.price.value)

    async def price(self, asset: str, value: Decimal) -> None:
        response = await self.collateral.RecordPrice(
            collateral_pb2.RecordPriceRequest(
                request_id=rid(),
                price=Price(base_asset=asset, quote_asset="HKD", value=str(value)),
                observed_at=now_stamp(),
                source="demo-vendor",
            ),
            metadata=VENDOR,
        )
        if not response.accepted:
            raise RuntimeError(
                f"the price guard refused {asset} {value}: {response.rejection_reason}"
            )

    # -- the borrowers ----------------------------------------------------------------------

    async def open_accounts(self) -> None:
        self.say("2. Four clients onboard, post 1,000 shares of 0700.HK and 1 BTC, and draw")
        for role, amount in BORROWERS.items():
            client = self.client(role)
            await self.onboard(client)
            await self.lending.DrawLoan(
                lending_pb2.DrawLoanRequest(request_id=rid(), client_id=client, amount=hkd(amount)),
                metadata=PLATFORM,
            )
            # The proceeds leave for the client's bank: only the collateral stands behind it.
            await self.accounts.WithdrawCash(
                accounts_pb2.WithdrawCashRequest(
                    request_id=rid(), client_id=client, amount=hkd(amount), reference="bank"
                ),
                metadata=PLATFORM,
            )
            self.say(f"   {client}: drew HKD {amount}")

    async def onboard(self, client: str) -> None:
        limit = hkd("1000000.00")
        opened = await self.accounts.OnboardClient(
            accounts_pb2.OnboardClientRequest(
                request_id=rid(),
                client_id=client,
                securities_margin_account_id=f"SMA-{client}",
                credit_grade="A",
                credit_limit=limit,
                margin_agreement_version="MA-2026",
                risk_disclosure_version="VARD-1",
            ),
            metadata=OPERATOR,
        )
        # The operator proposed the grade and the limit; the risk officer approves them.
        for proposal in opened.fact_proposal_ids:
            await self.accounts.ApproveClientFact(
                accounts_pb2.ApproveClientFactRequest(
                    request_id=rid(), client_id=client, proposal_id=proposal
                ),
                metadata=RISK,
            )
        for asset, quantity in ((SHARES, "1000"), ("BTC", "1")):
            await self.accounts.DepositCollateral(
                accounts_pb2.DepositCollateralRequest(
                    request_id=rid(),
                    client_id=client,
                    quantity=Amount(asset=asset, value=quantity),
                    reference="custody",
                ),
                metadata=PLATFORM,
            )
        await self.lending.ApproveFacility(
            lending_pb2.ApproveFacilityRequest(
                request_id=rid(),
                client_id=client,
                facility_id=f"F-{client}",
                credit_limit=limit,
                annual_rate="0.068",
            ),
            metadata=RISK,
        )

    # -- the story --------------------------------------------------------------------------

    async def crash(self, settle_seconds: float) -> None:
        self.say("3. BTC halves to 250,000 and the shares fall to 290")
        for asset, level in CRASH.items():
            await self.price(asset, level)
        for role in BORROWERS:
            await self.check(role)
            loan = await self.loan(role)
            self.outcome.states_after_crash[role] = loan.risk_state
            call = (
                f", margin call of HKD {loan.margin_call.amount.value}"
                if (loan.margin_call.call_id)
                else ""
            )
            self.say(f"   {self.client(role)}: {loan.risk_state}{call}")
        await self.settled("sold", settle_seconds)

    async def cure_and_settle(self) -> None:
        self.say("4. Cures: the warned and the called client deposit cash")
        for role, amount in CURE_DEPOSITS.items():
            await self.accounts.DepositCash(
                accounts_pb2.DepositCashRequest(
                    request_id=rid(),
                    client_id=self.client(role),
                    amount=hkd(amount),
                    reference="bank",
                ),
                metadata=PLATFORM,
            )
            await self.check(role)
            self.say(
                f"   {self.client(role)}: deposited HKD {amount}, "
                f"now {(await self.loan(role)).risk_state}"
            )
        loan = await self.loan("sold")
        owed = (
            Decimal(loan.principal.value)
            + Decimal(loan.accrued_interest.value)
            + Decimal(loan.unpaid_fees.value)
        )
        if owed > 0:
            client = self.client("sold")
            await self.accounts.DepositCash(
                accounts_pb2.DepositCashRequest(
                    request_id=rid(), client_id=client, amount=hkd(owed), reference="bank"
                ),
                metadata=PLATFORM,
            )
            await self.lending.RepayLoan(
                lending_pb2.RepayLoanRequest(request_id=rid(), client_id=client, amount=hkd(owed)),
                metadata=PLATFORM,
            )
            self.say(f"   {client}: repaid the HKD {owed} left after the sale")

    async def collapse(self, settle_seconds: float) -> None:
        self.say("5. A collapse: BTC to 100,000, the shares to 200")
        for asset, level in COLLAPSE.items():
            await self.price(asset, level)
        for role in BORROWERS:
            await self.check(role)
        await self.settled("deficit", settle_seconds)

    async def write_off_and_close(self) -> None:
        client = self.client("deficit")
        shortfall = self.outcome.shortfall
        self.say(
            f"6. {client}: the operator proposes to write off HKD {shortfall}; "
            "risk approves; the account closes"
        )
        proposal = f"WO-{rid()[:12]}"
        await self.liquidation.ProposeDeficitSettlement(
            liquidation_pb2.ProposeDeficitSettlementRequest(
                request_id=rid(),
                client_id=client,
                proposal_id=proposal,
                kind="write_off",
                amount=hkd(shortfall),
                reference="demo credit committee",
            ),
            metadata=OPERATOR,
        )
        await self.liquidation.ApproveDeficitSettlement(
            liquidation_pb2.ApproveDeficitSettlementRequest(
                request_id=rid(), client_id=client, proposal_id=proposal
            ),
            metadata=RISK,
        )
        await self.accounts.CloseAccount(
            accounts_pb2.CloseAccountRequest(request_id=rid(), client_id=client),
            metadata=OPERATOR,
        )
        for role in BORROWERS:
            self.outcome.final_states[role] = (await self.loan(role)).risk_state

    async def verify(self) -> None:
        self.say("7. The auditor verifies every hash chain and re-derives every decision")
        verified = await self.audit.VerifyAll(audit_pb2.VerifyAllRequest(), metadata=AUDITOR)
        self.outcome.events_verified = verified.events_checked
        self.outcome.chains_intact = verified.intact
        for role in BORROWERS:
            again = await self.audit.RederiveDecisions(
                audit_pb2.RederiveDecisionsRequest(stream_id=f"account-{self.client(role)}"),
                metadata=AUDITOR,
            )
            self.outcome.decisions_rederived += again.decisions_checked
            self.outcome.discrepancies += len(again.discrepancies)
        self.say(
            f"   {verified.events_checked} events in {verified.streams_checked} streams: "
            f"{'intact' if verified.intact else 'BROKEN'}; "
            f"{self.outcome.decisions_rederived} decisions re-derived, "
            f"{self.outcome.discrepancies} discrepancies"
        )

    # -- reads ------------------------------------------------------------------------------

    async def check(self, role: str) -> None:
        await self.lending.CheckRisk(
            lending_pb2.CheckRiskRequest(request_id=rid(), client_id=self.client(role)),
            metadata=RISK,
        )

    async def loan(self, role: str) -> lending_pb2.Loan:
        got = await self.lending.GetLoan(
            lending_pb2.GetLoanRequest(client_id=self.client(role)), metadata=RISK
        )
        loan: lending_pb2.Loan = got.loan
        return loan

    async def settled(self, role: str, within: float) -> None:
        """Waits for the liquidation engine to end the client's latest liquidation."""
        client = self.client(role)
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            listed = await self.liquidation.ListLiquidations(
                liquidation_pb2.ListLiquidationsRequest(client_id=client), metadata=RISK
            )
            ended = [x for x in listed.liquidations if x.state in ("completed", "deficit")]
            if ended:
                await self.report_liquidation(role, ended[0].liquidation_id)
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the liquidation of {client} did not end within {within:.0f} s")

    async def report_liquidation(self, role: str, liquidation_id: str) -> None:
        got = await self.liquidation.GetLiquidation(
            liquidation_pb2.GetLiquidationRequest(liquidation_id=liquidation_id), metadata=RISK
        )
        done = got.liquidation
        affiliated = sum(1 for f in done.fills if f.affiliated)
        self.outcome.liquidations[role] = f"{done.state}/{done.outcome}"
        self.outcome.fills[role] = len(done.fills)
        if done.state == "deficit":
            self.outcome.shortfall = done.shortfall.value
        self.say(
            f"   {done.client_id}: liquidation {done.state} ({done.outcome}); "
            f"{len(done.fills)} fills ({affiliated} with the affiliated maker), "
            f"proceeds HKD {done.proceeds.value}"
            + (f", shortfall HKD {done.shortfall.value}" if done.state == "deficit" else "")
        )


async def run_demo(
    targets: Targets,
    say: Callable[[str], None] = print,
    *,
    settle_seconds: float = 60.0,
    credentials: grpc.ChannelCredentials | None = None,
) -> DemoOutcome:
    """Opens a channel per service and runs the story once."""
    addresses = {
        "accounts": targets.accounts,
        "collateral": targets.collateral,
        "lending": targets.lending,
        "liquidation": targets.liquidation,
        "audit": targets.audit,
    }
    channels = {
        name: (
            grpc.aio.secure_channel(address, credentials)
            if credentials
            else grpc.aio.insecure_channel(address)
        )
        for name, address in addresses.items()
    }
    try:
        return await Demo(channels, say, rid()[:8]).run(settle_seconds)
    finally:
        for channel in channels.values():
            await channel.close(None)


def summary(outcome: DemoOutcome) -> Sequence[str]:
    """The closing table: one line per borrower."""
    lines = [f"{'client':<28} {'after crash':<12} {'liquidation':<22} {'final':<12}"]
    for role, client in outcome.clients.items():
        lines.append(
            f"{client:<28} {outcome.states_after_crash.get(role, ''):<12} "
            f"{outcome.liquidations.get(role, '-'):<22} {outcome.final_states.get(role, ''):<12}"
        )
    return lines
