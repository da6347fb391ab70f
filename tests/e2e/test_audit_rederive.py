"""A regulator's audit of a whole margin lifecycle, over real services on loopback: an advance,
a warning, interest, a crash, a margin call and a forced sale through the simulated venues.
Then every recorded decision re-derives from its recorded basis; state replayed from raw
events as of a position equals what the services saw then; a signed checkpoint holds; and
forged decisions — inserted by the table owner with a valid chain hash, so every chain still
verifies — are reported with their stream, version and why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from harbour.api.v1 import audit_pb2, audit_pb2_grpc, lending_pb2
from harbour.application.market import market
from harbour.application.runner import CommandRunner
from harbour.application.streams import ACCOUNTS, EXPOSURE, POLICY, PRICES
from harbour.audit.auditor import rederive, replay_state
from harbour.audit.keys import generate_key_files
from harbour.audit.replay import account_document
from harbour.eventstore.database import Database
from harbour.eventstore.encoding import canonical_json, chain_hash, event_content
from harbour.eventstore.verify import verify_store
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.account import MarginAccount, with_journal
from harbour.ledger.advance import AdvanceTest
from harbour.ledger.exposure import EXPOSURE_STREAM
from harbour.ledger.money import Money
from harbour.lending.projections import Loans
from harbour.liquidation.sizing import liquidation_fee, proceeds_of
from harbour.runtime.server import Runtime, start_server
from harbour.runtime.settings import Settings, libpq_url
from tests.e2e.callers import OPERATOR, rid
from tests.e2e.followers import caught_up
from tests.e2e.test_liquidation_service import LiquidationStack, serving

AUDITOR = (("x-harbour-principal", "ana:auditor"),)
STREAM = "account-C1"


@dataclass
class Audited:
    stack: LiquidationStack
    audit: audit_pb2_grpc.AuditServiceStub
    database_url: str


@pytest.fixture
async def audited(
    settings: Settings, database: Database, database_url: str, tmp_path: Path
) -> AsyncIterator[Audited]:
    keyfile = tmp_path / "audit.key"
    generate_key_files(keyfile)
    names = ("accounts", "collateral", "lending", "liquidation")
    async with serving(settings, database, names) as stack:
        keyed = replace(settings, audit_signing_key=keyfile)
        runtime = Runtime(keyed, database, stack.store, stack.clock)
        server = await start_server("audit", runtime, port=0, host="127.0.0.1")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield Audited(stack, audit_pb2_grpc.AuditServiceStub(channel), database_url)
        await server.stop(0)


async def live(stack: LiquidationStack) -> tuple[MarginAccount, int]:
    """The account as a service loads it now, and the position of its last event."""
    loaded = await CommandRunner(stack.store).load(ACCOUNTS, STREAM)
    events = await stack.store.read_stream(STREAM, up_to_version=loaded.version)
    return loaded.state, events[-1].position


async def lifecycle(stack: LiquidationStack) -> list[tuple[MarginAccount, int]]:
    """Draw, warning, interest, crash and forced sale; the live state after each step."""
    seen = []
    # CV 480,000 (shares 280,000 + BTC 200,000); D 400,000: U 0.83.
    await stack.borrow_and_spend("C1", "400000.00")
    seen.append(await live(stack))
    await stack.price("BTC", "400000.00")  # CV 440,000: U 0.91 -> warning
    await stack.check("C1")  # the risk monitor in the lending server may get there first
    history = [e.type for e in await stack.store.read_stream("account-C1")]
    assert "EarlyWarningIssued" in history
    seen.append(await live(stack))
    stack.clock.now += timedelta(days=3)
    await stack.price("BTC", "400000.00")
    await stack.price("0700.HK", "400.00")
    await caught_up(stack.store, [Loans()], clock=stack.clock)
    through = (stack.clock.now + timedelta(hours=8)).date() - timedelta(days=1)
    await stack.lending.AccrueInterest(
        lending_pb2.AccrueInterestRequest(request_id=rid(), through=through.isoformat()),
        metadata=OPERATOR,
    )
    seen.append(await live(stack))
    await stack.price("BTC", "250000.00")
    await stack.price("0700.HK", "290.00")
    await stack.check("C1")  # U >= 130%: a call and a forced sale at once
    liquidation = await stack.settled("C1")
    assert liquidation.state == "completed" and liquidation.fills
    seen.append(await live(stack))
    return seen


async def test_a_lifecycle_re_derives_replays_and_anchors(audited: Audited) -> None:
    stack, audit = audited.stack, audited.audit
    seen = await lifecycle(stack)

    # Every decision re-derives from its recorded basis.
    outcome = await rederive(stack.store)
    assert outcome.discrepancies == []
    assert {
        "LoanAdvanced",
        "EarlyWarningIssued",
        "InterestAccrued",
        "MarginCallIssued",
        "LiquidationStarted",
        "LiquidationFillExecuted",
        "LiquidationCompleted",
    } <= set(outcome.checked)
    one = await audit.RederiveDecisions(
        audit_pb2.RederiveDecisionsRequest(stream_id=STREAM), metadata=AUDITOR
    )
    assert one.discrepancies == [] and one.decisions_checked == outcome.decisions_checked

    # State replayed from raw events as of a position is the state the services saw then.
    for state, position in seen:
        replayed = await replay_state(
            stack.store, STREAM, now=stack.clock(), up_to_position=position
        )
        assert replayed.intact and replayed.position == position
        assert replayed.rebuilt.state == state
    state, position = seen[1]
    reply = await audit.ReplayState(
        audit_pb2.ReplayStateRequest(stream_id=STREAM, up_to_position=position), metadata=AUDITOR
    )
    document = json.loads(reply.state_json)
    assert reply.chain_intact and reply.kind == "margin_account" and reply.position == position
    assert document["state"] == account_document(state)
    assert document["state"]["risk"] == "warning"
    assert document["state"]["debt"] == {"HKD": "400000.00"}
    final = json.loads(
        (
            await audit.ReplayState(
                audit_pb2.ReplayStateRequest(stream_id=STREAM), metadata=AUDITOR
            )
        ).state_json
    )
    assert final["state"]["risk"] == "healthy" and final["state"]["liquidation"] is None
    # As of an instant: before the crash's prices, BTC was at 400,000.
    before_crash = Timestamp()
    before_crash.FromDatetime(stack.clock() - timedelta(days=1))
    price = json.loads(
        (
            await audit.ReplayState(
                audit_pb2.ReplayStateRequest(stream_id="price-BTC", as_of=before_crash),
                metadata=AUDITOR,
            )
        ).state_json
    )
    assert Decimal(price["state"]["last"]["price"]) == Decimal("400000.00")

    # The policy, a price stream and the broker's exposure rebuild to what the services load.
    runner = CommandRunner(stack.store)
    for kind, stream in (
        (POLICY, "policy-collateral"),
        (PRICES, "price-BTC"),
        (EXPOSURE, EXPOSURE_STREAM),
    ):
        rebuilt = await replay_state(stack.store, stream, now=stack.clock())
        assert rebuilt.intact
        assert rebuilt.rebuilt.state == (await runner.load(kind, stream)).state  # type: ignore[arg-type]
    policy = await replay_state(stack.store, "policy-collateral", now=stack.clock())
    assert policy.document()["state"]["in_force"]["parameters"]["haircut.0700.HK"] == "0.30"

    # A signed checkpoint of this history holds.
    signed = await audit.CreateCheckpoint(audit_pb2.CreateCheckpointRequest(), metadata=AUDITOR)
    held = await audit.VerifyAgainstCheckpoint(
        audit_pb2.VerifyAgainstCheckpointRequest(checkpoint_json=signed.checkpoint_json),
        metadata=AUDITOR,
    )
    assert held.intact and held.signer_trusted and held.streams_checked == signed.streams


def insert_forged(url: str, stream_id: str, event: ev.Event, recorded_at: datetime) -> int:
    """Append ``event`` as the table owner, bypassing the services, with the chain hash it
    would have had: the version that follows, the hash that extends the stream's chain."""
    event_type, schema_version, data = ev.encode(event)
    metadata = {"request_id": f"forged-{rid()}", "actor": "dba"}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        head = conn.execute(
            "SELECT version, hash FROM events WHERE stream_id = %s ORDER BY version DESC LIMIT 1",
            (stream_id,),
        ).fetchone()
        assert head is not None
        version = head[0] + 1
        content = event_content(
            stream_id=stream_id,
            version=version,
            event_type=event_type,
            schema_version=schema_version,
            data_json=canonical_json(data),
            metadata_json=canonical_json(metadata),
            recorded_at=recorded_at,
        )
        conn.execute(
            "INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, "
            "content) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                stream_id,
                version,
                event_type,
                schema_version,
                recorded_at,
                chain_hash(bytes(head[1]), content),
                content,
            ),
        )
    return int(version)


async def test_forged_decisions_are_reported_with_where_and_why(audited: Audited) -> None:
    stack = audited.stack
    await lifecycle(stack)
    state, _ = await live(stack)
    now = stack.clock() + timedelta(seconds=1)
    policy, prices = await market(CommandRunner(stack.store), now, ["BTC", "0700.HK"])
    hkd = Money.of("HKD", "1000.00")

    # 1. An advance whose basis claims BTC was worth four times what the feed said; its
    # figures are worked out consistently on that price, so only the basis gives it away.
    inflated = dict(prices)
    inflated["BTC"] = replace(prices["BTC"], price=prices["BTC"].price * 4)
    figures, basis = AdvanceTest(policy, inflated).check_draw(state, hkd, now)
    advance = ev.LoanAdvanced("C1", hkd, figures, basis, journals.loan_advance("C1", hkd))
    v_advance = insert_forged(audited.database_url, STREAM, advance, now)

    # 2. An advance on the true prices whose recorded utilisation was shaded down.
    before = with_journal(state, advance.journal)  # the account once the first is folded in
    figures, basis = AdvanceTest(policy, prices).check_draw(before, hkd, now)
    shaded = replace(figures, utilisation=Decimal("0.100000"))
    second = ev.LoanAdvanced("C1", hkd, shaded, basis, journals.loan_advance("C1", hkd))
    v_shaded = insert_forged(audited.database_url, STREAM, second, now)

    # 3. The affiliated maker buying below the best independent quote.
    quantity = Money.of("BTC", "0.01000000")
    price, best = Decimal("240000"), Decimal("245000")
    proceeds = proceeds_of("BTC", quantity.minor, price)
    fill = ev.LiquidationFillExecuted(
        "C1",
        "liq-x",
        "fill-x",
        quantity,
        price,
        proceeds,
        liquidation_fee(proceeds, policy.liquidation_fee),
        "venue-a",
        "harbour-mm",
        True,
        price,
        best,
        now,
        journals.liquidation_fill(
            "C1", "venue-a", quantity=quantity, proceeds=proceeds, fee=Money.of("HKD", "0")
        ),
    )
    v_fill = insert_forged(audited.database_url, STREAM, fill, now)

    # 4. A day's interest one cent above ACT/365 rounded up.
    principal = Money.of("HKD", "100000.00")  # 18.630136... -> 18.64
    interest = Money.of("HKD", "18.65")
    accrual = ev.InterestAccrued(
        "C1",
        interest,
        now.date(),
        principal,
        Decimal("0.068"),
        policy.version,
        journals.interest_accrual("C1", interest),
    )
    v_interest = insert_forged(audited.database_url, STREAM, accrual, now)

    assert (await verify_store(stack.store)).intact  # every chain still verifies
    found = (await rederive(stack.store)).discrepancies
    where = [(d.stream_id, d.version, d.event_type) for d in found]
    assert where == [
        (STREAM, v_advance, "LoanAdvanced"),
        (STREAM, v_shaded, "LoanAdvanced"),
        (STREAM, v_fill, "LiquidationFillExecuted"),
        (STREAM, v_interest, "InterestAccrued"),
    ], [d.describe() for d in found]
    assert "BTC price" in found[0].reason and "the price recorded then was" in found[0].reason
    assert "utilisation 0.100000 (re-derived" in found[1].reason
    assert "market_value" not in found[1].reason  # only what was altered is named
    assert "below the best independent quote 245000" in found[2].reason
    assert "18.64" in found[3].reason

    over_grpc = await audited.audit.RederiveDecisions(
        audit_pb2.RederiveDecisionsRequest(stream_id=STREAM), metadata=AUDITOR
    )
    assert [(d.version, d.event_type) for d in over_grpc.discrepancies] == [
        (v, t) for _, v, t in where
    ]


async def test_checkpoint_rpcs_refuse_a_tampered_document_and_need_a_key(
    audited: Audited, settings: Settings, database: Database
) -> None:
    audit = audited.audit
    signed = await audit.CreateCheckpoint(audit_pb2.CreateCheckpointRequest(), metadata=AUDITOR)
    document: dict[str, Any] = json.loads(signed.checkpoint_json)
    document["global_position"] += 1
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.VerifyAgainstCheckpoint(
            audit_pb2.VerifyAgainstCheckpointRequest(checkpoint_json=json.dumps(document)),
            metadata=AUDITOR,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "altered after signing" in (refused.value.details() or "")

    runtime = Runtime(settings, database, audited.stack.store, audited.stack.clock)
    keyless = await start_server("audit", runtime, port=0, host="127.0.0.1")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{keyless.port}") as channel:
            stub = audit_pb2_grpc.AuditServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.CreateCheckpoint(audit_pb2.CreateCheckpointRequest(), metadata=AUDITOR)
            assert missing.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        await keyless.stop(0)
