"""The event vocabulary on the wire: events.proto is what scripts/gen_event_protos.py writes
from harbour.ledger.events (a drift test, like the stubs'), field numbers never move, every
event type converts to its message with every field (and back, exactly), and the feed's
scope rules by role."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import types
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from harbour.api.v1 import events_pb2, feed_pb2
from harbour.feed import scope
from harbour.feed.payloads import PAYLOAD_FIELDS, fill
from harbour.feed.scope import FeedFilter, StreamKind, requested_filter, scoped
from harbour.feed.service import WIRE_KINDS
from harbour.ledger import events as ev
from harbour.ledger.assets import asset
from harbour.ledger.errors import InvalidArgument, PermissionDenied
from harbour.ledger.money import Money, parse_signed_amount
from harbour.ledger.postings import Journal, Posting, transfer

ROOT = Path(__file__).resolve().parents[2]
EVENTS_PROTO = ROOT / "protos" / "harbour" / "api" / "v1" / "events.proto"


def generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_event_protos", ROOT / "scripts" / "gen_event_protos.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_event_protos", module)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- drift


def test_events_proto_is_what_the_vocabulary_generates() -> None:
    checked_in = EVENTS_PROTO.read_text(encoding="utf-8")
    assert generator().render(checked_in) == checked_in, (
        "protos/harbour/api/v1/events.proto disagrees with harbour.ledger.events: run "
        "`python scripts/gen_event_protos.py && python scripts/gen_protos.py`"
    )


def test_a_new_event_type_or_field_makes_the_drift_test_fail_and_takes_new_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @dataclass(frozen=True)
    class FeedTested(ev.AccountEvent):
        amount: Money

    gen = generator()
    checked_in = EVENTS_PROTO.read_text(encoding="utf-8")
    monkeypatch.setattr(ev, "EVENT_TYPES", {"FeedTested": FeedTested, **ev.EVENT_TYPES})
    changed = gen.render(checked_in)
    assert changed != checked_in
    numbers = gen.previous_numbers(changed)["FeedEvent"][0]
    before = gen.previous_numbers(checked_in)["FeedEvent"][0]
    # The new type takes the next free payload number; every other keeps its own.
    assert numbers["feed_tested"] == max(before.values()) + 1
    assert {k: v for k, v in numbers.items() if k != "feed_tested"} == before
    assert "message FeedTestedEvent {" in changed


def test_field_numbers_survive_inserted_and_removed_fields() -> None:
    gen = generator()
    assigned, reserved, names = gen.numbered(
        ["a", "new", "c"], ({"a": 1, "b": 2, "c": 3}, set(), set())
    )
    assert assigned == {"a": 1, "new": 4, "c": 3}
    assert (reserved, names) == ({2}, {"b"})
    assigned, reserved, names = gen.numbered(["a", "b"], ({"a": 1}, {2}, {"old"}))
    assert assigned == {"a": 1, "b": 3}  # a reserved number is never reused
    assert (reserved, names) == ({2}, {"old"})


def test_every_event_type_has_its_payload_field_and_message() -> None:
    assert set(PAYLOAD_FIELDS) == set(ev.EVENT_TYPES)
    for event_type, field in PAYLOAD_FIELDS.items():
        message = events_pb2.FeedEvent.DESCRIPTOR.fields_by_name[field].message_type
        assert message.name == f"{event_type}Event"
        fields = [f.name for f in message.fields]
        assert sorted(fields) == sorted(
            f.name for f in dataclasses.fields(ev.EVENT_TYPES[event_type])
        )


# ----------------------------------------------------------------------------- converter

INSTANT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def sample(hint: Any, name: str) -> Any:
    """A value of type ``hint`` unlike any default, so a dropped field shows."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return sample(inner, name)
    if origin is tuple:
        return (sample(typing.get_args(hint)[0], name),)
    simple = {
        str: f"{name[:20].replace('_', '-')}-1",
        bool: True,
        int: 7,
        Decimal: Decimal("523456.78901234"),
        datetime: INSTANT,
        date: date(2026, 3, 4),
        Money: Money.of("BTC", "0.12345678"),
        Journal: transfer("HKD", 123456, source="external:bank", destination="client:C1:cash"),
    }
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    assert dataclasses.is_dataclass(hint), hint
    hints = typing.get_type_hints(hint)
    return hint(**{f.name: sample(hints[f.name], f.name) for f in dataclasses.fields(hint)})


def without_optionals(event: Any) -> Any:
    """The same event with every ``X | None`` field None."""
    hints = typing.get_type_hints(type(event))
    nones = {
        f.name: None
        for f in dataclasses.fields(event)
        if type(None) in typing.get_args(hints[f.name])
    }
    return dataclasses.replace(event, **nones)


def decoded(hint: Any, message: Any, name: str) -> Any:
    """The inverse of the converter, for the test: the value of field ``name`` of ``message``."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        value = getattr(message, name)
        if isinstance(value, str):
            return decoded(inner, message, name) if value else None
        return decoded(inner, message, name) if message.HasField(name) else None
    if origin is tuple:
        (item_hint,) = typing.get_args(hint)[:1]
        return tuple(_item(item_hint, item) for item in getattr(message, name))
    return _item(hint, getattr(message, name))


def _item(hint: Any, value: Any) -> Any:
    if hint in (str, bool, int):
        return value
    if hint is Decimal:
        return Decimal(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint is datetime:
        return value.ToDatetime(tzinfo=UTC)
    if hint is Money:
        return parse_signed_amount(asset(value.asset), value.value)
    if hint is Journal:
        return Journal(
            tuple(
                Posting(
                    p.ledger_account,
                    p.amount.asset,
                    parse_signed_amount(asset(p.amount.asset), p.amount.value).minor,
                )
                for p in value.postings
            )
        )
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    hints = typing.get_type_hints(hint)
    return hint(**{f.name: decoded(hints[f.name], value, f.name) for f in dataclasses.fields(hint)})


@pytest.mark.parametrize("event_type", sorted(ev.EVENT_TYPES))
def test_every_event_type_converts_with_every_field_and_back_exactly(event_type: str) -> None:
    cls = ev.EVENT_TYPES[event_type]
    full = sample(cls, event_type)
    for event in (full, without_optionals(full)):
        feed_event = events_pb2.FeedEvent()
        payload = getattr(feed_event, PAYLOAD_FIELDS[event_type])
        fill(payload, event)
        payload.SetInParent()
        assert feed_event.WhichOneof("payload") == PAYLOAD_FIELDS[event_type]
        # Through the wire and back: nothing dropped, nothing rounded.
        wire = events_pb2.FeedEvent.FromString(feed_event.SerializeToString())
        again = getattr(wire, PAYLOAD_FIELDS[event_type])
        assert _item(cls, again) == event


def test_money_and_prices_travel_as_exact_decimal_strings() -> None:
    event = ev.LiquidationFillExecuted(
        client_id="C1",
        liquidation_id="L1",
        fill_id="F1",
        quantity=Money.of("ETH", "1.000000000000000001"),
        price=Decimal("23456.123456789"),
        proceeds=Money.of("HKD", "23456.12"),
        fee=Money.of("HKD", "469.13"),
        venue="alpha",
        counterparty="mm",
        affiliated=False,
        quote=Decimal("23456.2"),
        best_independent_quote=Decimal("23456.2"),
        executed_at=INSTANT,
        journal=transfer("HKD", 2345612, source="venue:alpha", destination="client:C1:cash"),
    )
    message = fill(events_pb2.LiquidationFillExecutedEvent(), event)
    assert isinstance(message, events_pb2.LiquidationFillExecutedEvent)
    assert (message.quantity.asset, message.quantity.value) == ("ETH", "1.000000000000000001")
    assert message.price == "23456.123456789"
    assert message.proceeds.value == "23456.12" and message.fee.value == "469.13"
    assert [(p.ledger_account, p.amount.value) for p in message.journal.postings] == [
        ("client:C1:cash", "23456.12"),
        ("venue:alpha", "-23456.12"),
    ]
    assert message.executed_at.ToDatetime(tzinfo=UTC) == INSTANT


# ----------------------------------------------------------------------------- scope


def test_stream_kinds_are_the_registrys_stream_prefixes() -> None:
    from harbour.application import streams

    assert scope.STREAM_PREFIXES[StreamKind.STRESS] == streams.STRESS_STREAM_PREFIX
    assert scope.STREAM_PREFIXES[StreamKind.RECONCILIATION] == streams.RECONCILIATION_STREAM_PREFIX
    # Every stream the application's registry names is of a kind the feed knows.
    named = [
        streams.account_stream("C1"),
        streams.price_stream("BTC"),
        streams.POLICY_STREAM,
        streams.EXPOSURE_STREAM,
        streams.LIMITS_STREAM,
        streams.calendar_stream(streams.HKEX),
        streams.stress_stream("run1"),
        streams.reconciliation_stream("run1"),
    ]
    assert all(scope.kind_of(stream) is not None for stream in named)
    for stream, kind in [
        ("account-C1", StreamKind.ACCOUNT),
        ("price-BTC", StreamKind.PRICE),
        ("policy-collateral", StreamKind.POLICY),
        ("broker-exposure", StreamKind.BROKER),
        ("broker-limits", StreamKind.BROKER),
        ("calendar-HKEX", StreamKind.CALENDAR),
        ("stress-run1", StreamKind.STRESS),
        ("unheard-of", None),
    ]:
        assert scope.kind_of(stream) is kind, stream
    # The wire's enum names every kind, and nothing else.
    names = {v.name for v in feed_pb2.StreamKind.DESCRIPTOR.values} - {"STREAM_KIND_UNSPECIFIED"}
    assert names == {f"STREAM_KIND_{k.name}" for k in StreamKind}
    assert set(WIRE_KINDS.values()) == set(StreamKind)


def test_filters_combine_with_and() -> None:
    rule = FeedFilter(
        frozenset({"C1"}), frozenset({StreamKind.ACCOUNT}), frozenset({"CashDeposited"})
    )
    assert rule.admits("account-C1", "CashDeposited")
    assert not rule.admits("account-C2", "CashDeposited")
    assert not rule.admits("account-C1", "LoanAdvanced")
    assert not rule.admits("account-C10", "CashDeposited")  # an id, not a prefix
    prices = FeedFilter(kinds=frozenset({StreamKind.PRICE}))
    assert prices.admits("price-BTC", "PriceObserved") and not prices.admits("account-C1", "X")
    assert FeedFilter().admits("anything-at-all", "Whatever")


def test_a_request_filter_is_checked() -> None:
    with pytest.raises(InvalidArgument, match="client_ids"):
        requested_filter(["C1", "bad id"], [], [])
    with pytest.raises(InvalidArgument, match="event_types"):
        requested_filter([], [], ["CashDeposited", "NoSuchEvent"])
    with pytest.raises(InvalidArgument, match="stream_kinds"):
        requested_filter(["C1"], [StreamKind.PRICE], [])
    with pytest.raises(InvalidArgument, match="at most 1000"):
        requested_filter([f"C{n}" for n in range(1001)], [], [])


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


@pytest.mark.parametrize("reader", ["auditor", "risk", "operator"])
def test_auditors_risk_and_operators_see_everything_they_ask_for(reader: str) -> None:
    everything = FeedFilter()
    assert scoped(roles(reader), everything) == everything
    narrow = requested_filter(["C1"], [], ["CashDeposited"])
    assert scoped(roles(reader, "trading-platform"), narrow) == narrow


def test_a_trading_platform_sees_only_the_account_streams_of_the_clients_it_names() -> None:
    with pytest.raises(PermissionDenied) as refused:
        scoped(roles("trading-platform"), FeedFilter())
    assert refused.value.reason == "feed_client_ids_required"
    rule = scoped(roles("trading-platform"), requested_filter(["C1", "C2"], [], []))
    assert rule.kinds == {StreamKind.ACCOUNT} and rule.clients == {"C1", "C2"}
    assert not rule.admits("price-BTC", "PriceObserved")
    assert not rule.admits("account-C3", "CashDeposited")
    with pytest.raises(PermissionDenied) as refused:
        scoped(roles("trading-platform"), requested_filter([], [StreamKind.POLICY], []))
    assert refused.value.reason == "feed_client_ids_required"


def test_a_price_feed_sees_prices_only() -> None:
    rule = scoped(roles("price-feed"), FeedFilter())
    assert rule.kinds == {StreamKind.PRICE}
    for kinds in ([StreamKind.ACCOUNT], [StreamKind.PRICE, StreamKind.BROKER]):
        with pytest.raises(PermissionDenied) as refused:
            scoped(roles("price-feed"), requested_filter([], kinds, []))
        assert refused.value.reason == "feed_stream_kind_not_permitted"
    with pytest.raises(PermissionDenied) as refused:
        scoped(roles("price-feed"), requested_filter(["C1"], [], []))
    assert refused.value.reason == "feed_stream_kind_not_permitted"
    # A platform that also holds price-feed and names no client follows prices.
    assert scoped(roles("trading-platform", "price-feed"), FeedFilter()).kinds == {StreamKind.PRICE}


def test_other_roles_are_refused() -> None:
    with pytest.raises(PermissionDenied, match="needs one of the roles"):
        scoped(roles("policy-admin"), FeedFilter())
