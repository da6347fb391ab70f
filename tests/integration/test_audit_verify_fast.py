"""`harbour audit verify` reads the store with COPY and checks every chain in a few processes:
it must find exactly what the row-by-row ``ChainVerifier`` finds, tampering by tampering."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import psycopg

from harbour.audit.auditor import ChainScan, verify_chains
from harbour.eventstore.encoding import canonical_json, chain_hash, event_content
from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import ChainVerifier, verify_store
from harbour.runtime.audit_cli import ProgressBar
from harbour.runtime.database import login_url
from harbour.runtime.settings import libpq_url

# Shapes the chain must survive byte for byte: keys jsonb orders differently (by length),
# escapes COPY escapes again (backslash, newline, tab), quotes, non-ASCII, control
# characters, nesting, empty containers, integers at the 64-bit edges.
AWKWARD = {
    "reference": 'a "quoted" back\\slash, new\nline, tab\there',
    "é": "café 中文 \U0001f600 \u2028",
    "ctl": "\x01\x1f\x7f",
    "z": [1, -1, 0, 2**63 - 1, -(2**63), True, False, None, {}, []],
    "nested": {"bb": {"a": [{"y": 1, "x": "2"}]}, "a": None},
}


BIG = 123456789012345678901234567890


def event_data(client: int, n: int) -> dict[str, Any]:
    amount = f"{n}.{client:02d}"
    return {
        "client_id": f"C{client}",
        "amount": {"amount": amount, "asset": "HKD"},
        "journal": [
            {"account": f"client:C{client}:cash", "amount": amount, "asset": "HKD"},
            {"account": "external:bank", "amount": f"-{amount}", "asset": "HKD"},
        ],
        **(AWKWARD if n % 3 == 0 else {}),
    }


async def seed(store: EventStore) -> None:
    """Nine streams of five events interleaved in position order, and an append of two."""
    for n in range(5):
        for client in range(9):
            events = [NewEvent("CashDeposited", event_data(client, n))]
            await store.append(
                f"account-C{client}", events, expected_version=n, request_id=f"r{client}-{n}"
            )
    await store.append(
        "broker-exposure",
        [NewEvent("BrokerExposureChanged", {"total": str(k)}) for k in range(2)],
        expected_version=0,
    )


def owner(url: str) -> psycopg.Connection[Any]:
    """The owner with triggers off: what only a superuser could do to the table."""
    return psycopg.connect(
        libpq_url(url), autocommit=True, options="-c session_replication_role=replica"
    )


def scan(url: str, parts: int, up_to_position: int | None = None) -> ChainScan:
    return verify_chains(
        login_url(url, "harbour_service"), parts=parts, up_to_position=up_to_position
    )


def found(result: ChainScan | ChainVerifier) -> list[tuple[int, str, int, str]]:
    return [(b.position, b.stream_id, b.version, b.reason) for b in result.breaks]


# One tampering per stream, each as a superuser with the triggers off could do it; every
# statement names its rows with %(stream)s and %(version)s.
AT = " WHERE stream_id = %(stream)s AND version = %(version)s"
TAMPERINGS: dict[str, tuple[str, int, str]] = {
    "data": ("account-C0", 2, "UPDATE events SET data = jsonb_set(data, %(path)s, '9')"),
    "awkward data": (
        "account-C1",
        3,
        "UPDATE events SET data = jsonb_set(data, '{reference}', %(quoted)s::jsonb)",
    ),
    "metadata": ("account-C2", 1, 'UPDATE events SET metadata = \'{"actor": "mallory"}\''),
    "recorded_at": ("account-C3", 5, "UPDATE events SET recorded_at = recorded_at + '1 us'"),
    "a middle event deleted": ("account-C4", 3, "DELETE FROM events"),
    "a first event deleted": ("account-C5", 1, "DELETE FROM events"),
    "an event moved to another stream": ("account-C6", 2, "UPDATE events SET stream_id = 'C9'"),
    "versions swapped": ("account-C7", 2, "UPDATE events SET version = 1000"),
    "a hash rewritten": ("broker-exposure", 2, "UPDATE events SET hash = sha256('forged')"),
}
# The second half of the swap: version 3 becomes 2, the parked version 2 becomes 3.
SWAP = [
    "UPDATE events SET version = 2 WHERE stream_id = 'account-C7' AND version = 3",
    "UPDATE events SET version = 3 WHERE stream_id = 'account-C7' AND version = 1000",
]
PARAMS = {"path": "{amount,amount}", "quoted": json.dumps('a "quoted" back\\slash')}


async def test_every_tampering_is_found_exactly_as_the_row_by_row_verifier_finds_it(
    store: EventStore, database_url: str
) -> None:
    await seed(store)
    intact = scan(database_url, parts=1)
    assert intact.intact and intact.events_checked == 47 and intact.streams_checked == 10

    with owner(database_url) as conn:
        for stream, version, statement in TAMPERINGS.values():
            conn.execute(statement + AT, {"stream": stream, "version": version, **PARAMS})
        for statement in SWAP:
            conn.execute(statement)
    expected = found(await verify_store(store))
    # Every tampering breaks its stream's chain ...
    assert {b[1] for b in expected} >= {stream for stream, *_ in TAMPERINGS.values()}
    # ... and the fast scan reports exactly those breaks, in one process or in three that
    # share the streams out (forked).
    for parts in (1, 3):
        result = scan(database_url, parts=parts)
        assert result.parts == parts
        assert found(result) == expected, parts
        assert not result.intact


async def test_a_store_that_was_not_tampered_with_is_intact_in_any_number_of_parts(
    store: EventStore, database_url: str
) -> None:
    await seed(store)
    for parts in (1, 2, 4):
        result = scan(database_url, parts=parts)
        assert result.intact, found(result)
        assert (result.events_checked, result.streams_checked) == (47, 10)
    assert scan(database_url, parts=2, up_to_position=10).events_checked == 10


def forged_row(stream: str, data_text: str, hashed_data: str) -> dict[str, Any]:
    """A version 1 event inserted by hand: ``data_text`` in its column, its content and hash
    over ``hashed_data``."""
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)  # whole second: the short text form
    content = event_content(
        stream_id=stream,
        version=1,
        event_type="CashDeposited",
        schema_version=1,
        data_json=hashed_data,
        metadata_json="{}",
        recorded_at=at,
    )
    return {"s": stream, "d": data_text, "at": at, "c": content, "h": chain_hash(b"", content)}


async def test_a_superusers_rows_are_judged_by_their_stored_bytes_and_columns(
    store: EventStore, database_url: str
) -> None:
    # Inserted with the triggers off. A float and an integer past 64 bits (both refused by
    # the store) with bytes that say what the columns say: intact. Columns that say something
    # else than the hashed bytes, bytes that are not even JSON, a nesting jsonb keeps but the
    # bytes do not: broken, and reported, not raised.
    tiny = '{"x": 0.00000015}'
    big = '{"x": 123456789012345678901234567890}'
    rows = [
        forged_row("odd-float", tiny, canonical_json(json.loads(tiny))),
        forged_row("odd-big", big, canonical_json(json.loads(big))),
        forged_row("odd-column", '{"x": "2"}', '{"x":"1"}'),
        forged_row("odd-deep", "[" * 3000 + "]" * 3000, "[]"),
        {**forged_row("odd-bytes", "{}", "{}"), "c": b"\xff not json"},
        forged_row("odd-spelling", tiny, '{"x":0.00000015}'),
    ]
    rows[4]["h"] = chain_hash(b"", rows[4]["c"])
    with owner(database_url) as conn:
        for row in rows:
            conn.execute(
                "INSERT INTO events (stream_id, version, type, schema_version, data, metadata, "
                "recorded_at, hash, content) VALUES (%(s)s, 1, 'CashDeposited', 1, "
                "%(d)s::jsonb, '{}', %(at)s, %(h)s, %(c)s)",
                row,
            )
    result = scan(database_url, parts=1)
    by_stream = {b.stream_id: b.reason for b in result.breaks}
    assert set(by_stream) == {"odd-column", "odd-deep", "odd-bytes"}
    assert all(reason.startswith("hash mismatch") for reason in by_stream.values())
    # The row-by-row verifier rebuilds the bytes from the columns instead: it agrees on every
    # row it can read, and also flags the same number spelled as the store never spells it
    # (the stored bytes are exactly what was hashed and mean what the column holds).
    verifier = ChainVerifier()
    verifier.check_all(e for e in await store.read_all() if e.stream_id != "odd-deep")
    assert sorted(b.stream_id for b in verifier.breaks) == [
        "odd-bytes",
        "odd-column",
        "odd-spelling",
    ]


class Clock:
    now = 10.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_bar_moves_only_on_a_terminal() -> None:
    quiet, live = io.StringIO(), io.StringIO()
    for out, is_live in ((quiet, False), (live, True)):
        clock = Clock()
        bar = ProgressBar("verifying", out=out, clock=clock, live=is_live)
        clock.now += 1.0
        bar(500, 1_000)
        clock.now += 1.0
        bar.done(1_000)
    assert quiet.getvalue() == "\rverifying 1,000 events in 2.0s (500 events/s)\n"
    assert "[############............]  50% 500 of 1,000 events (500 events/s)" in live.getvalue()
    assert live.getvalue().endswith("\rverifying 1,000 events in 2.0s (500 events/s)\n")
