"""Who calls in the end-to-end tests, a clock the tests move, and small wire helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from harbour.eventstore.store import EventStore

FEED = (("x-harbour-principal", "vendor-a:price-feed"),)
ALICE = (("x-harbour-principal", "alice:policy-admin"),)
BOB = (("x-harbour-principal", "bob:policy-admin"),)
RISK = (("x-harbour-principal", "risk-desk:risk"),)
OPERATOR = (("x-harbour-principal", "ops:operator"),)
PLATFORM = (("x-harbour-principal", "desk:trading-platform"),)


def rid() -> str:
    return uuid.uuid4().hex


def at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@dataclass
class ManualClock:
    """The services' clock in a test: time moves only when the test says so."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


async def event_count(store: EventStore) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT count(*) FROM events")) or 0)
