"""The limit monitor counts collateral moved in and out of custody, and nothing else of a
journal: a value-moving event none of whose postings touch a client's custody account (a cash
deposit, a draw, a day's interest) is passed over without being decoded, read from its JSON
as stored; any event that may post to custody, or whose journal it cannot read, is decoded as
before (and a malformed one is refused there)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from harbour.eventstore.encoding import canonical_json
from harbour.eventstore.model import RecordedEvent
from harbour.eventstore.upcasting import Upcasters
from harbour.ledger import events as ev
from harbour.ledger import journals
from harbour.ledger.money import Money
from harbour.lending.limits import _posts_to_custody, _read_page

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HKD = Money.of("HKD", "500.00")
BTC = Money.of("BTC", "0.25")


def recorded(event: ev.Event, position: int) -> RecordedEvent:
    event_type, schema_version, data = ev.encode(event)
    return RecordedEvent(
        position=position,
        stream_id="account-C1",
        version=position,
        type=event_type,
        schema_version=schema_version,
        data_json=canonical_json(data),
        metadata_json="{}",
        recorded_at=AT,
        txid=position,
        hash=b"",
    )


def decoded(event: RecordedEvent) -> bool:
    return "_domain_event" in event.__dict__  # harbour.application.decoding keeps it there


def test_a_page_decodes_only_the_events_that_post_to_custody() -> None:
    cash = recorded(ev.CashDeposited("C1", HKD, "d1", journals.cash_deposit("C1", HKD)), 1)
    collateral = recorded(
        ev.CollateralDeposited("C1", BTC, "c1", journals.collateral_deposit("C1", BTC)), 2
    )
    page = _read_page([cash, collateral])
    assert not decoded(cash)
    assert decoded(collateral)
    # The collateral deposit is counted into custody, in BTC's minor units; the cash is not.
    assert page.collateral == {(2, "BTC"): (25_000_000, AT)}
    assert page.last_position == 2


@pytest.mark.parametrize(
    ("data", "posts"),
    [
        ({"journal": [{"account": "client:C1:cash", "asset": "HKD", "amount": "1"}]}, False),
        ({"journal": [{"account": "external:bank", "asset": "HKD", "amount": "1"}]}, False),
        ({"journal": []}, False),
        ({"journal": [{"account": "client:C1:custody", "asset": "BTC", "amount": "1"}]}, True),
        # Shapes it cannot read are left to decoding, which refuses them.
        ({}, True),
        ({"journal": "client:C1:cash"}, True),
        ({"journal": ["client:C1:cash"]}, True),
        ({"journal": [{"account": 7}]}, True),
        ({"journal": [{"account": "client:C1"}]}, True),
        ({"journal": [{"account": "client:C1:cash:extra"}]}, True),
    ],
)
def test_what_may_post_to_custody(data: dict[str, Any], posts: bool) -> None:
    assert _posts_to_custody(data) is posts


def parsed(event: RecordedEvent) -> bool:
    return "data" in event.__dict__  # RecordedEvent.data is parsed once, then kept there


def test_text_without_custody_in_it_is_not_even_parsed() -> None:
    cash = recorded(ev.CashDeposited("C1", HKD, "d1", journals.cash_deposit("C1", HKD)), 1)
    collateral = recorded(
        ev.CollateralDeposited("C1", BTC, "c1", journals.collateral_deposit("C1", BTC)), 2
    )
    _read_page([cash, collateral])
    assert not parsed(cash)
    assert parsed(collateral) and decoded(collateral)


def test_an_escape_that_could_spell_custody_is_parsed_and_counted() -> None:
    deposit = recorded(
        ev.CollateralDeposited("C1", BTC, "c1", journals.collateral_deposit("C1", BTC)), 3
    )
    escaped = deposit.data_json.replace("custody", "\\u0063ustody")
    assert "custody" not in escaped
    event = replace(deposit, data_json=escaped)
    page = _read_page([event])
    assert parsed(event)
    assert page.collateral == {(3, "BTC"): (25_000_000, AT)}


def test_an_event_upcasting_would_change_is_parsed_whatever_its_text() -> None:
    cash = recorded(ev.CashDeposited("C1", HKD, "d1", journals.cash_deposit("C1", HKD)), 4)
    upcasters = Upcasters()
    upcasters.register("CashDeposited", cash.schema_version, lambda data: data)
    older = replace(cash, _upcast=upcasters)
    current = replace(cash, schema_version=cash.schema_version + 1, _upcast=upcasters)
    _read_page([older, current])
    assert parsed(older)
    assert not parsed(current)
