"""Balances: an immutable, canonical map from asset code to minor units.

Zero entries are dropped and codes kept sorted, so two equal states are equal values (and
snapshots of them are byte-identical).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from harbour.ledger.assets import asset
from harbour.ledger.money import Money


@dataclass(frozen=True)
class Balances:
    entries: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, amounts: Mapping[str, int]) -> Balances:
        return cls(tuple(sorted((code, n) for code, n in amounts.items() if n != 0)))

    def get(self, code: str) -> int:
        for entry_code, minor in self.entries:
            if entry_code == code:
                return minor
        return 0

    def money(self, code: str) -> Money:
        return Money(asset(code), self.get(code))

    def add(self, code: str, delta: int) -> Balances:
        if delta == 0:
            return self
        amounts = dict(self.entries)
        amounts[code] = amounts.get(code, 0) + delta
        return Balances.of(amounts)

    def __add__(self, other: Balances) -> Balances:
        amounts = dict(self.entries)
        for code, minor in other.entries:
            amounts[code] = amounts.get(code, 0) + minor
        return Balances.of(amounts)

    def as_dict(self) -> dict[str, int]:
        return dict(self.entries)

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.entries)

    @property
    def is_zero(self) -> bool:
        return not self.entries

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)


EMPTY = Balances()
