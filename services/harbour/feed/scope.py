"""What a feed subscriber may see and asked to see: stream kinds, filters, and the rule by role.

Pure: no transport, no storage. The servicer turns a request into a :class:`FeedFilter`, asks
:func:`scoped` for the filter the caller's roles allow (or a refusal), and applies it to every
event of the global feed by its stream id and type alone, before any payload is decoded.

The rule (a first one; docs/feed.md):

* ``auditor``, ``risk`` and ``operator`` see every stream;
* ``trading-platform`` sees the account streams of the clients it names, and must name them.
  Nothing in the ledger says which clients a platform serves (every platform may read any
  account through AccountsService today), so naming them is the scope, not an entitlement;
* ``price-feed`` sees the price streams;
* anyone else is refused. A filter that asks for streams outside the caller's scope is
  refused too, rather than answered with a silent, empty stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from harbour.ledger.calendar import CALENDAR_STREAM_PREFIX
from harbour.ledger.errors import InvalidArgument, PermissionDenied
from harbour.ledger.events import EVENT_TYPES
from harbour.ledger.exposure import EXPOSURE_STREAM
from harbour.ledger.ids import ACCOUNT_STREAM_PREFIX, client_id
from harbour.ledger.policy import POLICY_STREAM
from harbour.ledger.prices import PRICE_STREAM_PREFIX

FULL_READERS = ("auditor", "operator", "risk")
CLIENT_READER = "trading-platform"
PRICE_READER = "price-feed"
FEED_ROLES = (*FULL_READERS, CLIENT_READER, PRICE_READER)
MAX_CLIENT_IDS = 1000


class StreamKind(Enum):
    """A kind of stream: the part of its id before the first '-' (``account-C1``: account)."""

    ACCOUNT = "account"
    PRICE = "price"
    POLICY = "policy"
    BROKER = "broker"  # broker-exposure, broker-limits
    CALENDAR = "calendar"
    STRESS = "stress"
    RECONCILIATION = "reconciliation"


def _kind_name(prefix_or_stream: str) -> str:
    return prefix_or_stream.partition("-")[0]


# Where the kinds come from: the stream ids the ledger's constants name. Stress and
# reconciliation streams are named by the application's registry (harbour.application.streams),
# which this pure package may not import (it imports the store); a test holds them equal.
STREAM_PREFIXES: dict[StreamKind, str] = {
    StreamKind.ACCOUNT: ACCOUNT_STREAM_PREFIX,
    StreamKind.PRICE: PRICE_STREAM_PREFIX,
    StreamKind.POLICY: _kind_name(POLICY_STREAM) + "-",
    StreamKind.BROKER: _kind_name(EXPOSURE_STREAM) + "-",
    StreamKind.CALENDAR: CALENDAR_STREAM_PREFIX,
    StreamKind.STRESS: "stress-",
    StreamKind.RECONCILIATION: "reconciliation-",
}
_KINDS: dict[str, StreamKind] = {
    _kind_name(prefix): kind for kind, prefix in STREAM_PREFIXES.items()
}


def kind_of(stream_id: str) -> StreamKind | None:
    """The kind of a stream, or None for a stream of a kind this version does not know."""
    return _KINDS.get(_kind_name(stream_id))


class FeedClientIdsRequired(PermissionDenied):
    reason = "feed_client_ids_required"


class FeedStreamKindNotPermitted(PermissionDenied):
    reason = "feed_stream_kind_not_permitted"


class FeedRoleMissing(PermissionDenied):
    reason = "permission_denied"


@dataclass(frozen=True)
class FeedFilter:
    """Which events a subscription delivers. Each part combines with AND; empty admits all.
    ``clients`` selects the account streams of those clients."""

    clients: frozenset[str] = frozenset()
    kinds: frozenset[StreamKind] = frozenset()
    event_types: frozenset[str] = frozenset()
    # The clients' stream ids, precomputed: admits() runs for every event a subscriber scans.
    account_streams: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        streams = frozenset(ACCOUNT_STREAM_PREFIX + c for c in self.clients)
        object.__setattr__(self, "account_streams", streams)

    def admits(self, stream_id: str, event_type: str) -> bool:
        if self.event_types and event_type not in self.event_types:
            return False
        if self.clients and stream_id not in self.account_streams:
            return False
        return not self.kinds or kind_of(stream_id) in self.kinds


def requested_filter(
    client_ids: Iterable[str], kinds: Iterable[StreamKind], event_types: Iterable[str]
) -> FeedFilter:
    """A subscription's filters, checked: known ids and types, and no contradiction."""
    clients = list(client_ids)
    if len(clients) > MAX_CLIENT_IDS:
        raise InvalidArgument.for_field("client_ids", f"at most {MAX_CLIENT_IDS} ids")
    checked = frozenset(client_id(c, f"client_ids[{i}]") for i, c in enumerate(clients))
    wanted_kinds = frozenset(kinds)
    if checked and wanted_kinds - {StreamKind.ACCOUNT}:
        raise InvalidArgument.for_field(
            "stream_kinds",
            "with client_ids only STREAM_KIND_ACCOUNT: client_ids select account streams",
        )
    types = list(event_types)
    for index, name in enumerate(types):
        if name not in EVENT_TYPES:
            raise InvalidArgument.for_field(f"event_types[{index}]", f"{name[:80]!r} is unknown")
    return FeedFilter(checked, wanted_kinds, frozenset(types))


def scoped(roles: frozenset[str], wanted: FeedFilter) -> FeedFilter:
    """The filter a caller holding ``roles`` gets for ``wanted``, or a refusal naming why."""
    if not roles.isdisjoint(FULL_READERS):
        return wanted
    if roles.isdisjoint((CLIENT_READER, PRICE_READER)):
        raise FeedRoleMissing("the feed needs one of the roles " + ", ".join(sorted(FEED_ROLES)))
    if wanted.clients:
        if CLIENT_READER not in roles:
            raise FeedStreamKindNotPermitted(
                "client_ids select account streams, which only the trading-platform role "
                "(or auditor, risk, operator) may follow"
            )
        visible = frozenset({StreamKind.ACCOUNT})
    elif PRICE_READER in roles:
        visible = frozenset({StreamKind.PRICE})
    else:
        raise FeedClientIdsRequired(
            "a trading platform follows the account streams of the clients it names: "
            "set client_ids to them"
        )
    refused = wanted.kinds - visible
    if refused:
        names = ", ".join(sorted(k.value for k in refused))
        raise FeedStreamKindNotPermitted(
            f"the caller's roles do not allow {names} streams: it may follow "
            + ", ".join(sorted(k.value for k in visible))
        )
    return FeedFilter(wanted.clients, wanted.kinds or visible, wanted.event_types)
