"""``harbour audit`` for a regulator: anchored checkpoints, rebuilt state, decisions re-derived.

harbour audit keygen --out KEYFILE
    an Ed25519 key pair: KEYFILE (PKCS#8 PEM, mode 0600) and KEYFILE.pub; prints the key id
harbour audit checkpoint --out FILE [--key KEYFILE]
    a signed checkpoint of every stream head (default key: HARBOUR_AUDIT_SIGNING_KEY)
harbour audit verify --against FILE [--public-key PUBFILE]
    the checkpoint's signature, then every checkpointed head the store no longer holds
    (truncated, rewritten, missing stream), then every hash chain; exit 1 on any finding
harbour audit replay --stream ID [--as-of T] [--position N] --state
    the stream's state rebuilt from raw events (JSON), its chain verified on the way
harbour audit rederive [--stream account-ID]
    every recorded decision decided again from its recorded basis; exit 1 if one differs

See ``harbour.audit.proofs`` for the checkpoint format and the Merkle leaf encoding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harbour.audit.auditor import create_checkpoint, rederive, replay_state, verify_against
from harbour.audit.keys import (
    KeyFileError,
    generate_key_files,
    load_private_key,
    load_public_key,
    public_path,
)
from harbour.audit.proofs import CheckpointRefused, open_checkpoint
from harbour.audit.replay import NoStateForStream
from harbour.eventstore.store import EventStore
from harbour.ledger.codec import DecodeError
from harbour.runtime.audit_cli import verify_all_chains
from harbour.runtime.server import open_runtime, system_clock
from harbour.runtime.settings import Settings


def keygen(out: Path) -> int:
    try:
        public, key_id = generate_key_files(out)
    except KeyFileError as refused:
        print(f"harbour: {refused}", file=sys.stderr)
        return 2
    print(f"private key {out} (mode 0600): keep it away from the database and its admins")
    print(f"public key  {public} (key id {key_id}): publish it where auditors can find it")
    return 0


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """checkpoint, verify --against, replay --state and rederive, against the database."""
    runtime = await open_runtime(settings)
    try:
        store = runtime.store
        if args.action == "checkpoint":
            return await _checkpoint(store, settings, args)
        if args.action == "verify":
            return await _verify_against(store, settings, args)
        if args.action == "replay":
            return await _replay_state(store, args)
        return await _rederive(store, args.stream)
    finally:
        await runtime.database.close()


async def _checkpoint(store: EventStore, settings: Settings, args: argparse.Namespace) -> int:
    if not args.out:
        print("harbour audit checkpoint needs --out FILE", file=sys.stderr)
        return 2
    key_path = Path(args.key) if args.key else settings.audit_signing_key
    if key_path is None:
        print(
            "harbour audit checkpoint needs --key KEYFILE or HARBOUR_AUDIT_SIGNING_KEY "
            "(make one with `harbour audit keygen --out KEYFILE`)",
            file=sys.stderr,
        )
        return 2
    try:
        key = load_private_key(key_path)
    except KeyFileError as refused:
        print(f"harbour: {refused}", file=sys.stderr)
        return 2
    document = await create_checkpoint(store, key, now=system_clock())
    out = Path(args.out)
    _write(out, json.dumps(document, sort_keys=True) + "\n")
    print(
        f"checkpoint of {document['streams']} streams ({document['events']} events) up to "
        f"position {document['global_position']}: Merkle root {document['merkle_root']}, "
        f"signed by key {document['signer']['key_id']} -> {out}"
    )
    return 0


def _trusted_key(settings: Settings, args: argparse.Namespace) -> Ed25519PublicKey | None:
    """--public-key, else the public half of the configured signing key, else None."""
    if args.public_key:
        return load_public_key(Path(args.public_key))
    configured = settings.audit_signing_key
    if configured is None:
        return None
    published = public_path(configured)
    return load_public_key(published if published.exists() else configured)


async def _verify_against(store: EventStore, settings: Settings, args: argparse.Namespace) -> int:
    try:
        trusted = _trusted_key(settings, args)
        checkpoint = open_checkpoint(_read(Path(args.against)), trusted)
    except (KeyFileError, OSError) as unreadable:
        print(f"harbour: {unreadable}", file=sys.stderr)
        return 2
    except CheckpointRefused as refused:
        print(f"REFUSED {args.against}: {refused}")
        return 1
    signer = checkpoint.document["signer"]["key_id"]
    if trusted is None:
        print(
            f"WARNING: signature checked against the key the checkpoint names ({signer}) only; "
            "pass --public-key to establish who signed it"
        )
    print(
        f"checkpoint {args.against}: {len(checkpoint.heads)} streams up to position "
        f"{checkpoint.global_position}, created {checkpoint.created_at}, signed by key {signer}"
    )
    breaks = await verify_against(store, checkpoint)
    for anchor_break in breaks:
        print(anchor_break.describe())
    # Every chain too, by the auditor's COPY scan (blocking: this is the command's only work).
    verifier = verify_all_chains(settings)
    for chain_break in verifier.breaks:
        print(
            f"BREAK at position {chain_break.position} ({chain_break.stream_id} "
            f"v{chain_break.version}): {chain_break.reason}"
        )
    anchored = "every head holds" if not breaks else f"{len(breaks)} head(s) do not hold"
    chains = "intact" if verifier.intact else f"{len(verifier.breaks)} break(s)"
    print(
        f"against the checkpoint: {anchored}; {verifier.events_checked} events in "
        f"{verifier.streams_checked} streams checked: {chains}"
    )
    return 1 if breaks or not verifier.intact else 0


async def _replay_state(store: EventStore, args: argparse.Namespace) -> int:
    if not args.stream:
        print("harbour audit replay --state needs --stream", file=sys.stderr)
        return 2
    try:
        replayed = await replay_state(
            store,
            args.stream,
            now=system_clock(),
            up_to_position=args.position,
            as_of=args.as_of,
        )
    except (NoStateForStream, DecodeError) as refused:
        print(f"harbour: {refused}", file=sys.stderr)
        return 2
    print(json.dumps(replayed.document(), indent=2, sort_keys=True))
    if not replayed.intact:
        print(f"{args.stream}: its hash chain is BROKEN (see chain.breaks)", file=sys.stderr)
    return 0 if replayed.intact else 1


async def _rederive(store: EventStore, stream: str | None) -> int:
    started = time.perf_counter()
    outcome = await rederive(store, stream_id=stream, progress=None if stream else _progress)
    seconds = time.perf_counter() - started
    if not stream:
        print(file=sys.stderr)
    for discrepancy in outcome.discrepancies:
        print(discrepancy.describe())
    kinds = ", ".join(f"{count} {name}" for name, count in sorted(outcome.checked.items()))
    verdict = (
        "every one re-derives"
        if not outcome.discrepancies
        else f"{len(outcome.discrepancies)} finding(s)"
    )
    print(
        f"{outcome.decisions_checked} decisions re-derived ({kinds or 'none'}) from "
        f"{outcome.events_read} events in {seconds:.2f} s: {verdict}"
    )
    return 1 if outcome.discrepancies else 0


# A command-line tool does one thing at a time: blocking file I/O in its coroutine is fine.
def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _progress(count: int) -> None:
    print(f"\r{count} events", end="", file=sys.stderr, flush=True)
