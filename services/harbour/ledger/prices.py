"""Price streams: ``price-<ASSET>`` holds the observations of one asset, in HKD.

The state is the last accepted observation (``PriceObserved``) and tallies; rejected
observations (``PriceRejected``) are facts about the feed, never prices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harbour.ledger import events as ev

PRICE_STREAM_PREFIX = "price-"


def price_stream(asset_code: str) -> str:
    return f"{PRICE_STREAM_PREFIX}{asset_code}"


@dataclass(frozen=True)
class PriceTrack:
    """The state of ``price-<ASSET>``: the last accepted observation and the tallies."""

    asset: str
    last: ev.PricePoint | None = None
    accepted: int = 0
    rejected: int = 0

    @classmethod
    def of_stream(cls, stream: str) -> PriceTrack:
        return cls(stream.removeprefix(PRICE_STREAM_PREFIX))


def evolve_price(track: PriceTrack, event: ev.Event) -> PriceTrack:
    match event:
        case ev.PriceObserved():
            point = ev.PricePoint(
                event.base_asset, event.quote_asset, event.price, event.observed_at, event.source
            )
            return replace(track, last=point, accepted=track.accepted + 1)
        case ev.PriceRejected():
            return replace(track, rejected=track.rejected + 1)
    return track
