"""The database checks what it stores: hash chains, login roles, snapshots a service believes.

Each test here reproduces a finding of the hardening review on the code before it:
a forged snapshot paid out money that did not exist (and the audit said intact), a service
session could SET ROLE to the superuser or to the unchecked generic role, and an event whose
hash did not extend its chain was accepted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from harbour.accounts import domain as d
from harbour.accounts.handlers import AccountHandlers
from harbour.eventstore.database import Database
from harbour.eventstore.encoding import canonical_json, chain_hash, event_content
from harbour.eventstore.model import NewEvent
from harbour.eventstore.snapshots import snapshot_digest
from harbour.eventstore.store import EventStore
from harbour.eventstore.verify import verify_store
from harbour.ledger.errors import DomainError
from harbour.ledger.grades import CreditGrade
from harbour.ledger.ids import account_stream
from harbour.ledger.money import Money
from harbour.runtime.database import login_url, open_database
from harbour.runtime.ownership import GENERIC_ROLE, service_role
from harbour.runtime.settings import SERVICES, Settings, SettingsError, libpq_url, sync_url

SNAPSHOT_KEY = "integrity-test-snapshot-key-0123456789"
SERVICE_ROLES = [service_role(s) for s in SERVICES]


def now() -> datetime:
    return datetime.now(UTC)


def connect_as(url: str, role: str) -> psycopg.Connection[Any]:
    """A session logged in as ``role`` itself, as a service process logs in."""
    return psycopg.connect(login_url(url, role), autocommit=True)


def owner_of(url: str) -> str:
    owner = make_url(sync_url(url)).username
    assert owner
    return owner


# ------------------------------------------------------------------ the hash chain in SQL
def insert_sql() -> str:
    return (
        "INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, "
        "content) VALUES (%(stream_id)s, %(version)s, %(type)s, 1, %(at)s, %(hash)s, %(content)s)"
    )


def raw_event(stream_id: str, version: int, previous: bytes, **override: Any) -> dict[str, Any]:
    """An event row built by hand, its content and hash computed exactly as the store does."""
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    data = {"amount": "1000000.00", "asset": "HKD", "note": 'caf\u00e9 "q"\n\u4e2d', "n": [1, {}]}
    metadata = {"actor": "script", "request_id": f"raw-{version}"}
    content = event_content(
        stream_id=stream_id,
        version=version,
        event_type="CashDeposited",
        schema_version=1,
        data_json=canonical_json(data),
        metadata_json=canonical_json(metadata),
        recorded_at=at,
    )
    row = {
        "stream_id": stream_id,
        "version": version,
        "type": "CashDeposited",
        "at": at,
        "hash": chain_hash(previous, content),
        "content": content,
    }
    row.update(override)
    return row


async def test_an_insert_whose_hash_does_not_extend_the_chain_is_refused(
    store: EventStore, database_url: str
) -> None:
    # The accounts role may insert CashDeposited: ownership lets it through, the chain not.
    await store.append(
        "account-C1", [NewEvent("CashDeposited", {"amount": "1.99"})], expected_version=0
    )
    (head,) = await store.read_stream("account-C1")
    honest = raw_event("account-C1", 2, head.hash)
    changed = honest["content"].replace(b'"1000000.00"', b'"2.00"')
    forged = {
        "does not extend": [
            raw_event("account-C1", 2, head.hash, hash=hashlib.sha256(b"trust me").digest()),
            raw_event("account-C1", 2, b"\x00" * 32),  # chained onto the wrong predecessor
            raw_event("account-C1", 2, head.hash, content=changed),  # data changed after
        ],
        "do not say what its columns say": [
            # Valid for account-C9, not for version 1 of account-C2 (the bytes name C9).
            {**raw_event("account-C9", 1, b""), "stream_id": "account-C2"},
            # Bytes that are not an event's envelope, hashed as they are.
            {**honest, "content": b"[1]", "hash": chain_hash(head.hash, b"[1]")},
        ],
    }
    with connect_as(database_url, service_role("accounts")) as conn:
        for reason, rows in forged.items():
            for row in rows:
                with pytest.raises(psycopg.Error, match=reason) as refused:
                    conn.execute(insert_sql(), row)
                assert refused.value.sqlstate == "HL004"
        # An event after a version the stream does not have is refused too.
        with pytest.raises(psycopg.Error, match="version 2 of its stream is not recorded"):
            conn.execute(insert_sql(), raw_event("account-C1", 3, head.hash))
        # The same row with the hash the store would compute is accepted: the database
        # computes the canonical bytes exactly as the store and the auditor do.
        conn.execute(insert_sql(), raw_event("account-C1", 2, head.hash))
    assert await store.stream_version("account-C2") == 0
    verifier = await verify_store(store)
    assert verifier.intact and verifier.events_checked == 2


async def test_an_insert_without_a_hash_gets_the_chain_hash_from_the_database(
    store: EventStore, database_url: str
) -> None:
    # The append statements leave the hash to the chain trigger (migration 0020): what it
    # stores is what the store and the auditor compute, and it vouches for nothing else.
    await store.append(
        "account-C1", [NewEvent("CashDeposited", {"amount": "1.99"})], expected_version=0
    )
    (head,) = await store.read_stream("account-C1")
    expected = raw_event("account-C1", 2, head.hash)
    with connect_as(database_url, service_role("accounts")) as conn:
        conn.execute(insert_sql(), {**expected, "hash": None})
        # Still checked against the columns, hash or no hash.
        with pytest.raises(psycopg.Error, match="do not say what its columns say"):
            bytes_of_c9 = raw_event("account-C9", 1, b"")
            conn.execute(insert_sql(), {**bytes_of_c9, "stream_id": "account-C2", "hash": None})
    stored = await store.read_stream("account-C1")
    assert [e.hash for e in stored] == [head.hash, expected["hash"]]
    assert stored[1].hash == chain_hash(head.hash, expected["content"])
    # An owner who switches the chain trigger off stops every append instead of letting
    # unchained rows in: the hash is NOT NULL and nothing else fills it in.
    with psycopg.connect(libpq_url(database_url), autocommit=True) as owner:
        owner.execute("ALTER TABLE events DISABLE TRIGGER events_hash_extends_chain")
        try:
            with pytest.raises(psycopg.errors.NotNullViolation):
                await store.append(
                    "account-C1", [NewEvent("CashDeposited", {"amount": "1"})], expected_version=2
                )
        finally:
            owner.execute("ALTER TABLE events ENABLE TRIGGER events_hash_extends_chain")
    assert await store.stream_version("account-C1") == 2


async def test_correct_appends_of_every_shape_still_chain(store: EventStore) -> None:
    from harbour.eventstore.model import StreamWrite

    one = await store.append("account-A", [NewEvent("CashDeposited", {"x": 1})], expected_version=0)
    many = [NewEvent("CashDeposited", {"x": n, "nested": {"b": [n], "a": None}}) for n in range(3)]
    await store.append("account-A", many, expected_version=one.version)
    await store.append_together(
        [
            StreamWrite("account-A", [NewEvent("CashWithdrawn", {"x": "1"})], 4),
            StreamWrite("broker-exposure", [NewEvent("BrokerExposureChanged", {"y": 2})], 0),
        ]
    )
    await store.append_together(
        [
            StreamWrite("account-A", many, 5),
            StreamWrite("broker-exposure", many, 1),
        ]
    )
    verifier = await verify_store(store)
    assert verifier.intact and verifier.events_checked == 12


# ------------------------------------------------------------------ login roles
@pytest.mark.parametrize("role", [*SERVICE_ROLES, GENERIC_ROLE])
async def test_a_service_session_cannot_become_any_other_role(database_url: str, role: str) -> None:
    others = [owner_of(database_url), "postgres", GENERIC_ROLE, *SERVICE_ROLES]
    with connect_as(database_url, role) as conn:
        row = conn.execute("SELECT session_user, current_user").fetchone()
        assert row == (role, role)
        for other in sorted(set(others) - {role}):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="set role"):
                conn.execute(f'SET ROLE "{other}"')
        grant = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
            (role,),
        ).fetchone()
        assert grant == (False, False, False)


async def test_service_processes_log_in_as_their_own_roles(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    for service in SERVICES:
        database: Database = await open_database(
            database_url, role=settings.role_of(service), pool_size=1
        )
        try:
            async with database.autocommit() as conn:
                row = await (await conn.execute("SELECT session_user, current_user")).fetchone()
            assert row == (service_role(service), service_role(service))
        finally:
            await database.close()


async def test_an_owner_session_lending_itself_a_service_role_is_still_checked(
    database_url: str,
) -> None:
    with psycopg.connect(login_url(database_url, None), autocommit=True) as conn:
        conn.execute("SET ROLE harbour_collateral")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="another service owns"):
            conn.execute(insert_sql(), raw_event("account-C1", 1, b""))


# ------------------------------------------------------------------ snapshots
def harbour_cli(*args: str, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HARBOUR_DATABASE_URL": url, "HARBOUR_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "harbour.runtime.cli", *args],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def keyed_store(database: Database) -> EventStore:
    """The accounts service's store, with the deployment's snapshot key."""
    return EventStore(database, clock=now, snapshot_key=SNAPSHOT_KEY.encode())


async def account_with_a_snapshot(store: EventStore) -> tuple[str, int]:
    """A client holding HKD 1.99, whose account stream has a sound snapshot at its head."""
    handlers = AccountHandlers(store, clock=now, snapshot_every=2)
    onboard = d.OnboardClient(
        "C1", "SMA", "CA", CreditGrade.A, Money.of("HKD", "1000.00"), "MA", "VA", False
    )
    await handlers.handle(onboard, request_id="on", request={"k": "on"}, metadata={})
    for n, amount in enumerate(("1.00", "0.99")):
        command = d.DepositCash("C1", Money.of("HKD", amount), "bank")
        await handlers.handle(command, request_id=f"dep{n}", request={"k": n}, metadata={})
    stream = account_stream("C1")
    snapshot = await store.load_snapshot(stream)
    assert snapshot is not None, "the scenario needs a snapshot"
    assert snapshot[0] == await store.stream_version(stream)
    return stream, snapshot[0]


def forge_cash(state: Any) -> Any:
    """The snapshot's state with HKD 1,000,000.00 of cash, in the same encoding."""
    if isinstance(state, dict):
        return {
            k: (
                {**v, "HKD": type(v["HKD"])(100_000_000)}
                if k == "cash" and isinstance(v, dict) and "HKD" in v
                else forge_cash(v)
            )
            for k, v in state.items()
        }
    return state


FORGERIES = {
    # A million HKD written into the state; the row's digest left as it was.
    "state": "UPDATE snapshots SET state = %(forged)s::jsonb WHERE stream_id = %(stream)s",
    # The true state claimed for a version the stream does not have.
    "version": "UPDATE snapshots SET version = version + 5 WHERE stream_id = %(stream)s",
    # A digest from another key (another deployment) over the forged state.
    "key": (
        "UPDATE snapshots SET state = %(forged)s::jsonb, digest = %(other_digest)s "
        "WHERE stream_id = %(stream)s"
    ),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_a_forged_snapshot_is_never_believed_and_pays_nothing_out(
    keyed_store: EventStore,
    database_url: str,
    forgery: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = keyed_store
    stream, version = await account_with_a_snapshot(store)
    # A restarted service (no cached state) starts from the sound snapshot.
    sound = await AccountHandlers(store, clock=now).load("C1")
    assert sound.replayed == 0 and sound.state.cash.get("HKD") == 199

    # The accounts service's database role may write snapshots: it writes a rich one.
    with connect_as(database_url, service_role("accounts")) as conn:
        row = conn.execute(
            "SELECT state, event_hash FROM snapshots WHERE stream_id = %s", (stream,)
        ).fetchone()
        assert row is not None
        state, event_hash = row
        forged = forge_cash(state)
        assert forged != state
        other_digest = snapshot_digest(
            b"another deployment's key",
            stream_id=stream,
            version=version,
            schema_version=1,
            event_hash=bytes(event_hash),
            state=forged,
        )
        params = {"forged": canonical_json(forged), "stream": stream, "other_digest": other_digest}
        conn.execute(FORGERIES[forgery], params)

    restarted = AccountHandlers(store, clock=now)  # a new CommandRunner: an empty cache
    with caplog.at_level(logging.WARNING, logger="harbour.eventstore"):
        loaded = await restarted.load("C1")
    assert loaded.state.cash.get("HKD") == 199  # what the events say
    assert loaded.replayed == version  # replayed from the events, the snapshot ignored
    assert f"snapshot of {stream}" in caplog.text and "ignored" in caplog.text
    withdrawal = d.WithdrawCash("C1", Money.of("HKD", "500000.00"), "bank")
    with pytest.raises(DomainError) as refused:
        await restarted.handle(withdrawal, request_id="wd", request={"k": "wd"}, metadata={})
    assert refused.value.reason == "insufficient_balance"
    assert await store.stream_version(stream) == version  # nothing paid out

    checked, faults = await store.check_snapshots()
    assert checked == 1
    assert [(f.stream_id, f.version) for f in faults] == [
        (stream, version + 5 if forgery == "version" else version)
    ]


async def test_audit_verify_reports_each_bad_snapshot_with_its_stream_and_version(
    keyed_store: EventStore, database_url: str
) -> None:
    stream, version = await account_with_a_snapshot(keyed_store)
    clean = harbour_cli("audit", "verify", url=database_url, HARBOUR_SNAPSHOT_KEY=SNAPSHOT_KEY)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 snapshots checked: all sound" in clean.stdout

    with connect_as(database_url, service_role("accounts")) as conn:
        conn.execute(
            "UPDATE snapshots SET state = jsonb_set(state, '{state,cash,HKD}', '100000000') "
            "WHERE stream_id = %s",
            (stream,),
        )
    result = harbour_cli("audit", "verify", url=database_url, HARBOUR_SNAPSHOT_KEY=SNAPSHOT_KEY)
    assert result.returncode == 1
    assert f"BAD SNAPSHOT {stream} v{version}: digest mismatch" in result.stdout
    assert f"{version} events in 1 streams checked: intact" in result.stdout  # events sound
    assert "1 snapshots checked: 1 bad" in result.stdout

    one = harbour_cli(
        "audit", "verify", "--stream", stream, url=database_url, HARBOUR_SNAPSHOT_KEY=SNAPSHOT_KEY
    )
    assert one.returncode == 1 and f"BAD SNAPSHOT {stream} v{version}" in one.stdout


async def test_a_snapshot_needs_the_event_it_folds_to(keyed_store: EventStore) -> None:
    from harbour.eventstore.errors import InvalidAppend

    with pytest.raises(InvalidAppend, match="no event at version 3"):
        await keyed_store.save_snapshot("account-X", 3, {"cash": "1.00"})


# ------------------------------------------------------------------ the snapshot key
@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "harbour-data"


def test_the_snapshot_key_is_generated_once_into_the_data_dir(data_dir: Path) -> None:
    settings = Settings.from_env({"HARBOUR_DATA_DIR": str(data_dir)})
    first = settings.snapshot_key_bytes()
    assert first == Settings(data_dir=data_dir).snapshot_key_bytes()  # every process agrees
    key_file = data_dir / "snapshot.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    configured = Settings.from_env({"HARBOUR_SNAPSHOT_KEY": SNAPSHOT_KEY})
    assert configured.snapshot_key_bytes() == SNAPSHOT_KEY.encode()
    assert SNAPSHOT_KEY not in repr(configured)
    with pytest.raises(SettingsError, match="HARBOUR_SNAPSHOT_KEY"):
        Settings.from_env({"HARBOUR_SNAPSHOT_KEY": "short"})
