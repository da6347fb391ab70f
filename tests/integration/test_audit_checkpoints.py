"""Anchored proofs against a real PostgreSQL: what a superuser can do to history unseen by the
hash chains alone — cut a stream's tail, rewrite and re-hash a whole stream, drop a stream —
is reported against a signed checkpoint kept outside the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harbour.audit.auditor import create_checkpoint, stream_heads, verify_against
from harbour.audit.proofs import Checkpoint, CheckpointRefused, open_checkpoint
from harbour.eventstore.encoding import GENESIS_HASH, canonical_json, chain_hash, event_content
from harbour.eventstore.model import NewEvent
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.runtime.settings import libpq_url
from tests.integration.cli_in_process import harbour_in_process
from tests.integration.test_cli import harbour

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


async def seed(store: EventStore, streams: int = 3, events: int = 3) -> None:
    for s in range(streams):
        for v in range(events):
            await store.append(
                f"sample-C{s}",
                [NewEvent("SampleRecorded", {"amount": f"{v}.00", "asset": "HKD"})],
                expected_version=v,
            )


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


async def checkpoint_of(store: EventStore, key: Ed25519PrivateKey) -> Checkpoint:
    document = await create_checkpoint(store, key, now=NOW)
    return open_checkpoint(json.dumps(document), key.public_key())


@pytest.fixture
def owner(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The table owner (a superuser here) with the immutability trigger on ``events``
    switched off: what an administrator who wants to rewrite history can do. (Not every
    trigger: with the chain trigger off no append can be written at all, since the appends
    leave each hash to it and ``hash`` is NOT NULL; the forgeries here rehash their chains.)"""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("ALTER TABLE events DISABLE TRIGGER events_immutable")
        yield conn
        conn.execute("ALTER TABLE events ENABLE TRIGGER events_immutable")


def rewrite_and_rehash(conn: psycopg.Connection[Any], stream_id: str) -> None:
    """Replace a stream's events with altered ones whose chain is recomputed: every chain
    still verifies."""
    rows = conn.execute(
        "SELECT version, type, schema_version, data::text, metadata::text, recorded_at "
        "FROM event_documents WHERE stream_id = %s ORDER BY version",
        (stream_id,),
    ).fetchall()
    conn.execute("DELETE FROM events WHERE stream_id = %s", (stream_id,))
    previous = GENESIS_HASH
    for version, event_type, schema_version, data, metadata, recorded_at in rows:
        forged = {**json.loads(data), "amount": "1000000.00"}
        content = event_content(
            stream_id=stream_id,
            version=version,
            event_type=event_type,
            schema_version=schema_version,
            data_json=canonical_json(forged),
            metadata_json=canonical_json(json.loads(metadata)),
            recorded_at=recorded_at,
        )
        previous = chain_hash(previous, content)
        conn.execute(
            "INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, "
            "content) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (stream_id, version, event_type, schema_version, recorded_at, previous, content),
        )


async def test_an_untouched_store_holds_its_checkpoint_and_may_grow(
    store: EventStore, key: Ed25519PrivateKey
) -> None:
    await seed(store)
    checkpoint = await checkpoint_of(store, key)
    heads, newest = await stream_heads(store)
    assert checkpoint.heads == tuple(heads) and checkpoint.global_position == newest
    assert [h.version for h in checkpoint.heads] == [3, 3, 3]
    assert await verify_against(store, checkpoint) == []
    # History goes on: a stream extended and a stream created since are no departure.
    await store.append("sample-C0", [NewEvent("SampleRecorded", {"n": 1})], expected_version=3)
    await store.append("sample-C9", [NewEvent("SampleRecorded", {"n": 1})], expected_version=0)
    assert await verify_against(store, checkpoint) == []


async def test_a_deleted_last_event_is_reported_though_every_chain_verifies(
    store: EventStore, key: Ed25519PrivateKey, owner: psycopg.Connection[Any]
) -> None:
    await seed(store)
    checkpoint = await checkpoint_of(store, key)
    owner.execute("DELETE FROM events WHERE stream_id = 'sample-C1' AND version = 3")
    assert (await verify_store(store)).intact  # the finding: the chains alone miss it
    breaks = await verify_against(store, checkpoint)
    assert [(b.stream_id, b.version, b.kind) for b in breaks] == [("sample-C1", 3, "truncated")]
    expected_hash = checkpoint.heads[1].hash.hex()
    assert breaks[0].expected == f"version 3 hash {expected_hash}"
    assert breaks[0].found == "the stream ends at version 2"


async def test_a_rewritten_and_rehashed_stream_is_reported(
    store: EventStore, key: Ed25519PrivateKey, owner: psycopg.Connection[Any]
) -> None:
    await seed(store)
    checkpoint = await checkpoint_of(store, key)
    rewrite_and_rehash(owner, "sample-C2")
    assert (await verify_store(store)).intact  # the finding: re-hashed, so it verifies
    breaks = await verify_against(store, checkpoint)
    assert [(b.stream_id, b.version, b.kind) for b in breaks] == [("sample-C2", 3, "rewritten")]
    now = owner.execute(
        "SELECT hash FROM events WHERE stream_id = 'sample-C2' AND version = 3"
    ).fetchone()
    assert now is not None and bytes(now[0]).hex() in breaks[0].found
    assert checkpoint.heads[2].hash.hex() in breaks[0].expected


async def test_a_missing_stream_is_reported(
    store: EventStore, key: Ed25519PrivateKey, owner: psycopg.Connection[Any]
) -> None:
    await seed(store)
    checkpoint = await checkpoint_of(store, key)
    owner.execute("DELETE FROM events WHERE stream_id = 'sample-C0'")
    breaks = await verify_against(store, checkpoint)
    assert [(b.stream_id, b.kind, b.found) for b in breaks] == [
        ("sample-C0", "missing_stream", "no events")
    ]


async def test_a_tampered_checkpoint_is_refused(store: EventStore, key: Ed25519PrivateKey) -> None:
    await seed(store)
    document = await create_checkpoint(store, key, now=NOW)
    # Someone lowers a head in the document to cover a truncation they are about to make.
    document["heads"][0][1] = 2
    with pytest.raises(CheckpointRefused, match="altered after signing"):
        open_checkpoint(json.dumps(document), key.public_key())


async def test_the_command_line_anchors_and_catches_a_truncation(
    store: EventStore, database_url: str, tmp_path: Path, owner: psycopg.Connection[Any]
) -> None:
    await seed(store)
    keyfile = tmp_path / "keys" / "audit.key"
    made = harbour_in_process("audit", "keygen", "--out", str(keyfile), url=database_url)
    assert made.returncode == 0, made.stderr
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys" / "audit.key.pub").exists()
    again = harbour_in_process("audit", "keygen", "--out", str(keyfile), url=database_url)
    assert again.returncode == 2 and "refusing to replace" in again.stderr

    checkpoint = tmp_path / "checkpoint.json"
    signed = harbour_in_process(
        "audit", "checkpoint", "--out", str(checkpoint), "--key", str(keyfile), url=database_url
    )
    assert signed.returncode == 0, signed.stderr
    assert "checkpoint of 3 streams (9 events)" in signed.stdout
    public = str(keyfile) + ".pub"
    clean = harbour_in_process(
        "audit", "verify", "--against", str(checkpoint), "--public-key", public, url=database_url
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "every head holds" in clean.stdout and "intact" in clean.stdout

    owner.execute("DELETE FROM events WHERE stream_id = 'sample-C1' AND version = 3")
    # The one run as a real process (the others run in this one: the same command, without a
    # second or more of start-up each).
    cut = harbour(
        "audit", "verify", "--against", str(checkpoint), "--public-key", public, url=database_url
    )
    assert cut.returncode == 1
    assert "TRUNCATED sample-C1 v3" in cut.stdout and "the stream ends at version 2" in cut.stdout

    document = json.loads(checkpoint.read_text())
    document["heads"][1][1] = 2  # lower the head to match the truncation
    checkpoint.write_text(json.dumps(document))
    refused = harbour_in_process(
        "audit", "verify", "--against", str(checkpoint), "--public-key", public, url=database_url
    )
    assert refused.returncode == 1 and "REFUSED" in refused.stdout
