"""Assets and their fixed scales.

An asset's scale is the number of decimals its amounts may have; internally every amount is an
``int`` of minor units (10**-scale of the asset). Scales never change once an asset is listed:
stored events hold decimal strings whose meaning depends on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from harbour.ledger.errors import UnknownAsset


class AssetKind(Enum):
    FIAT = "fiat"
    STABLECOIN = "stablecoin"
    VIRTUAL = "virtual"  # a virtual asset in the SFC's sense: BTC, ETH
    SECURITY = "security"  # a listed security, held in whole shares


@dataclass(frozen=True)
class Asset:
    code: str
    scale: int
    kind: AssetKind

    @property
    def unit(self) -> int:
        """Minor units in one whole unit of the asset."""
        return int(10**self.scale)

    @property
    def is_virtual(self) -> bool:
        return self.kind is AssetKind.VIRTUAL

    @property
    def is_cash(self) -> bool:
        """Fiat or stablecoin: what a client may deposit as cash and borrow."""
        return self.kind in (AssetKind.FIAT, AssetKind.STABLECOIN)

    def __str__(self) -> str:
        return self.code


HKD = Asset("HKD", 2, AssetKind.FIAT)
USD = Asset("USD", 2, AssetKind.FIAT)
USDT = Asset("USDT", 6, AssetKind.STABLECOIN)
BTC = Asset("BTC", 8, AssetKind.VIRTUAL)
ETH = Asset("ETH", 18, AssetKind.VIRTUAL)

# Every figure of a client's risk (market value, marginable value, debt) is in this currency.
REPORTING_CURRENCY = HKD

FIXED_ASSETS: dict[str, Asset] = {a.code: a for a in (HKD, USD, USDT, BTC, ETH)}

# A listed security by exchange symbol and market suffix: "0700.HK", "AAPL.US", "BRK-B.US".
# Upper case only, so one security has exactly one code (a ledger account key must be canonical).
_SECURITY_CODE = re.compile(r"^[0-9A-Z][0-9A-Z-]{0,11}\.[A-Z]{2,4}$")


def asset(code: object, field: str = "asset") -> Asset:
    """The asset named ``code``; unknown or malformed codes are refused, never guessed."""
    if isinstance(code, str):
        known = FIXED_ASSETS.get(code)
        if known is not None:
            return known
        if len(code) <= 20 and _SECURITY_CODE.fullmatch(code):
            return Asset(code, 0, AssetKind.SECURITY)
    shown = repr(code)[:40]
    raise UnknownAsset.for_field(
        field,
        f"unknown asset {shown}; expected one of "
        f"{', '.join(FIXED_ASSETS)} or a security such as 0700.HK",
    )


def is_known_asset(code: object) -> bool:
    try:
        asset(code)
    except UnknownAsset:
        return False
    return True
