"""A stored event as a domain event: the one decoding both sides share.

The write side folds a stream's recorded events into its state (``StreamKind.evolve_recorded``)
and the read side folds the feed into read models: both decode here, through the event
vocabulary (``harbour.ledger.events``) and the store's upcasters.
"""

from __future__ import annotations

from harbour.eventstore.model import RecordedEvent
from harbour.ledger import events as ev


def domain_event(recorded: RecordedEvent) -> ev.Event:
    # Decoded once per recorded event (kept in its instance dict, beside its parsed data):
    # read models applying the same page (balances, accounts, ...) each decoded every event,
    # and decoding was most of a rebuild. A domain event is immutable, so sharing it is safe.
    known: ev.Event | None = recorded.__dict__.get(_DECODED)
    if known is not None:
        return known
    # Read through the store's upcasters, the data is already in the current shape; read
    # without them, it is in the shape it was stored in, and decode refuses an old one.
    version = recorded.schema_version
    if recorded.upcaster is not None:
        version = ev.SCHEMA_VERSION.get(recorded.type, version)
    event = ev.decode(recorded.type, version, recorded.data)
    recorded.__dict__[_DECODED] = event
    return event


_DECODED = "_domain_event"  # not a field: equality and repr of the recorded event ignore it
