"""`harbour audit verify` reads the store with COPY and checks every chain in a few processes:
it must find exactly what the row-by-row ``ChainVerifier`` finds, tampering by tampering."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from harbour.audit.auditor import ChainScan, verify_chains
from harbour.audit.chainscan import PACKED_EVENT_BYTES
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
FORGED_AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)  # whole second: the short text form


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


def scan(
    url: str, parts: int, up_to_position: int | None = None, chunk_rows: int = 2_000
) -> ChainScan:
    return verify_chains(
        login_url(url, "harbour_service"),
        parts=parts,
        up_to_position=up_to_position,
        chunk_rows=chunk_rows,
    )


def rows_of(result: ChainScan) -> set[tuple[int, str, int]]:
    return {(b.position, b.stream_id, b.version) for b in result.breaks}


def found(result: ChainScan | ChainVerifier) -> list[tuple[int, str, int, str]]:
    return [(b.position, b.stream_id, b.version, b.reason) for b in result.breaks]


# One tampering per stream, each as a superuser with the triggers off could do it; every
# statement names its rows with %(stream)s and %(version)s. An event's data and metadata are
# its stored bytes (``content``): changing them means editing those bytes.
AT = " WHERE stream_id = %(stream)s AND version = %(version)s"
EDIT = (
    "UPDATE events SET content = "
    "convert_to(replace(convert_from(content, 'UTF8'), %(old)s, %(new)s), 'UTF8')"
)
TAMPERINGS: dict[str, tuple[str, int, str, dict[str, str]]] = {
    "data": ("account-C0", 2, EDIT, {"old": '"amount":"1.00"', "new": '"amount":"9.00"'}),
    "awkward data": ("account-C1", 3, EDIT, {"old": '"C1"', "new": '"C\\\\1 \\"q\\"\\n"'}),
    "metadata": (
        "account-C2",
        1,
        EDIT,
        {"old": '"metadata":{', "new": '"metadata":{"actor":"mallory",'},
    ),
    "recorded_at": ("account-C3", 5, "UPDATE events SET recorded_at = recorded_at + '1 us'", {}),
    "a middle event deleted": ("account-C4", 3, "DELETE FROM events", {}),
    "a first event deleted": ("account-C5", 1, "DELETE FROM events", {}),
    "an event moved to another stream": (
        "account-C6",
        2,
        "UPDATE events SET stream_id = 'C9'",
        {},
    ),
    "versions swapped": ("account-C7", 2, "UPDATE events SET version = 1000", {}),
    "a hash rewritten": ("broker-exposure", 2, "UPDATE events SET hash = sha256('forged')", {}),
    "a hash that is no SHA-256": ("account-C8", 4, "UPDATE events SET hash = '\\x0102'", {}),
}
# The second half of the swap: version 3 becomes 2, the parked version 2 becomes 3.
SWAP = [
    "UPDATE events SET version = 2 WHERE stream_id = 'account-C7' AND version = 3",
    "UPDATE events SET version = 3 WHERE stream_id = 'account-C7' AND version = 1000",
]


async def test_every_tampering_is_found_exactly_as_the_row_by_row_verifier_finds_it(
    store: EventStore, database_url: str
) -> None:
    await seed(store)
    intact = scan(database_url, parts=1)
    assert intact.intact and intact.events_checked == 47 and intact.streams_checked == 10

    with owner(database_url) as conn:
        # A superuser can drop a constraint too: a stored hash that is not even a SHA-256.
        conn.execute("ALTER TABLE events DROP CONSTRAINT events_hash_is_sha256")
        for stream, version, statement, params in TAMPERINGS.values():
            changed = conn.execute(statement + AT, {"stream": stream, "version": version, **params})
            assert changed.rowcount == 1, (stream, version)
            if statement == EDIT:  # the edit really changed the bytes
                assert params["old"] != params["new"]
        for statement in SWAP:
            conn.execute(statement)
    expected = found(await verify_store(store))
    # Every tampering breaks its stream's chain ...
    assert {b[1] for b in expected} >= {stream for stream, *_ in TAMPERINGS.values()}
    # ... and the fast scan reports exactly those breaks in one process, whether a chunk
    # (one COPY row) holds the whole store or a few events (breaks placed across chunks,
    # chunks read again event by event) ...
    single = scan(database_url, parts=1)
    assert found(single) == expected
    for chunk_rows in (1, 4, 7):
        assert found(scan(database_url, parts=1, chunk_rows=chunk_rows)) == expected
    # ... and the same rows in three that take a range of positions each (forked): reasons
    # may differ only where versions were swapped across a range's start.
    result = scan(database_url, parts=3, chunk_rows=5)
    assert result.parts == 3 and not result.intact
    assert rows_of(result) == rows_of(single)
    assert [b for b in found(result) if b[1] != "account-C7"] == [
        b for b in expected if b[1] != "account-C7"
    ]


async def test_a_store_that_was_not_tampered_with_is_intact_in_any_number_of_parts(
    store: EventStore, database_url: str
) -> None:
    await seed(store)
    for parts, chunk_rows in ((1, 2_000), (1, 3), (2, 2_000), (4, 6)):
        result = scan(database_url, parts=parts, chunk_rows=chunk_rows)
        assert result.intact, found(result)
        assert (result.events_checked, result.streams_checked) == (47, 10)
    assert scan(database_url, parts=2, up_to_position=10).events_checked == 10


async def test_an_event_too_large_to_pack_is_checked_on_its_own(
    store: EventStore, database_url: str
) -> None:
    # A chunk holds events of at most PACKED_EVENT_BYTES each (its size stays bounded
    # whatever the store holds): one with a larger event is read event by event.
    await seed(store)
    blob = {"note": "x" * (PACKED_EVENT_BYTES + 1)}
    await store.append("account-C0", [NewEvent("CashDeposited", blob)], expected_version=5)
    for parts, chunk_rows in ((1, 2_000), (2, 4)):
        result = scan(database_url, parts=parts, chunk_rows=chunk_rows)
        assert result.intact, found(result)
        assert result.events_checked == 48
    with owner(database_url) as conn:
        edit = {"stream": "account-C0", "version": 6, "old": "xxx", "new": "xxy"}
        assert conn.execute(EDIT + AT, edit).rowcount == 1
    expected = found(await verify_store(store))
    assert [(b[1], b[2]) for b in expected] == [("account-C0", 6)]
    for parts, chunk_rows in ((1, 2_000), (2, 4)):
        assert found(scan(database_url, parts=parts, chunk_rows=chunk_rows)) == expected


def forged_row(stream: str, data_json: str, at: datetime = FORGED_AT) -> dict[str, Any]:
    """A version 1 event inserted by hand: its content (with ``data_json`` as its data, as
    of ``at``) and the hash over it; its recorded_at column says FORGED_AT."""
    content = event_content(
        stream_id=stream,
        version=1,
        event_type="CashDeposited",
        schema_version=1,
        data_json=data_json,
        metadata_json="{}",
        recorded_at=at,
    )
    return {"s": stream, "at": FORGED_AT, "c": content, "h": chain_hash(b"", content)}


async def test_a_superusers_rows_are_judged_by_their_stored_bytes_and_columns(
    store: EventStore, database_url: str
) -> None:
    # Inserted with the triggers off. A float and an integer past 64 bits (both refused by
    # the store), and a number spelled as the store never spells it: the stored bytes are
    # what was hashed and end with what the columns say, so both verifiers find them intact.
    # Bytes that are not even JSON, and bytes whose recorded_at is not the column's: broken,
    # reported by both, never raised.
    tiny = '{"x": 0.00000015}'
    bad = forged_row("odd-bytes", "{}")
    bad["c"] = b"\xff not json"
    bad["h"] = chain_hash(b"", bad["c"])
    rows = [
        forged_row("odd-float", canonical_json(json.loads(tiny))),
        forged_row("odd-big", canonical_json({"x": 123456789012345678901234567890})),
        forged_row("odd-spelling", '{"x":0.00000015}'),
        forged_row("odd-instant", "{}", at=FORGED_AT + timedelta(seconds=1)),
        bad,
    ]
    with owner(database_url) as conn:
        for row in rows:
            conn.execute(
                "INSERT INTO events (stream_id, version, type, schema_version, recorded_at, "
                "hash, content) VALUES (%(s)s, 1, 'CashDeposited', 1, %(at)s, %(h)s, %(c)s)",
                row,
            )
    result = scan(database_url, parts=1)
    by_stream = {b.stream_id: b.reason for b in result.breaks}
    assert set(by_stream) == {"odd-instant", "odd-bytes"}
    assert all(reason.startswith("hash mismatch") for reason in by_stream.values())
    verifier = ChainVerifier()
    verifier.check_all(await store.read_all())
    assert found(verifier) == found(result)


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
