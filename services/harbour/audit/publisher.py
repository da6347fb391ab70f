"""Signed checkpoints published on a schedule by the audit service (issue #16, item 1).

Every HARBOUR_CHECKPOINT_EVERY_S seconds the service signs a checkpoint of every stream head
(``auditor.create_checkpoint``, the same document `harbour audit checkpoint` writes) with
HARBOUR_AUDIT_SIGNING_KEY and writes it to HARBOUR_CHECKPOINT_DIR as
``checkpoint-<global position>-<instant>.json``. Names sort by position, then instant, so the
newest is the last in a listing. A file appears whole or not at all: it is written to a
temporary name in the same folder, flushed to disk and renamed (a reader, a copying job or a
crash never sees half a checkpoint).

The loop runs under the service's supervisor: a round that fails (the database restarting, a
full disk) raises, and the supervisor restarts the loop after a backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harbour.audit.auditor import create_checkpoint
from harbour.eventstore.store import EventStore

log = logging.getLogger("harbour.audit")

Clock = Callable[[], datetime]


def checkpoint_name(document: dict[str, Any], instant: datetime) -> str:
    """``checkpoint-<position, 12 digits>-<UTC instant to the microsecond>.json``."""
    moment = instant.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"checkpoint-{int(document['global_position']):012d}-{moment}.json"


def write_atomically(folder: Path, name: str, text: str) -> Path:
    """``folder/name`` holding ``text``, made visible in one rename once it is on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temporary = folder / f".{name}.partial"
    with temporary.open("w", encoding="utf-8") as sink:
        sink.write(text)
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(temporary, final)
    # The rename itself is durable only once the folder is.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return final


async def publish_checkpoint(
    store: EventStore, key: Ed25519PrivateKey, folder: Path, *, now: datetime
) -> Path:
    """One signed checkpoint of the store as it is now, written to ``folder``."""
    document = await create_checkpoint(store, key, now=now)
    text = json.dumps(document, sort_keys=True) + "\n"
    return await asyncio.to_thread(write_atomically, folder, checkpoint_name(document, now), text)


async def publish_checkpoints(
    store: EventStore,
    key: Ed25519PrivateKey,
    folder: Path,
    *,
    every_s: float,
    clock: Clock,
    heartbeat: Callable[[], None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """A checkpoint now, then one every ``every_s`` seconds, until cancelled (a supervised
    loop: it raises on failure and is restarted)."""
    while True:
        written = await publish_checkpoint(store, key, folder, now=clock())
        log.info("audit checkpoint published: %s", written)
        heartbeat()
        await sleep(every_s)
