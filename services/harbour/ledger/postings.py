"""Postings and journals: the double entry every value-moving event carries.

A posting moves ``amount`` minor units of ``asset`` into ``ledger_account``. Sign convention:
an account's balance is what stands to the credit of the party it names, so

- ``client:<id>:cash`` and ``client:<id>:custody`` are positive: cash and collateral the client
  holds with the broker;
- ``client:<id>:loan``, ``:interest_receivable``, ``:fees_receivable`` and ``:shortfall`` are
  negative while the client owes (the balance is minus the principal, interest, fees or
  shortfall);
- ``broker:interest_income`` and ``broker:fee_income`` are positive as the broker earns,
  ``broker:bad_debt`` negative as it loses;
- ``external:*`` and ``venue:*`` mirror value entering (negative) or leaving (positive) the
  ledger.

Per asset, the postings of a journal sum to zero: a journal that does not balance cannot be
built, so neither can an event that carries one. Hence the trial balance (every balance of an
asset summed is zero) holds by construction over any set of journals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from harbour.ledger.assets import asset
from harbour.ledger.ids import ID_PATTERN, client_id
from harbour.ledger.money import format_minor, parse_signed_amount

CLIENT_ACCOUNT_KINDS = (
    "cash",
    "custody",
    "loan",
    "interest_receivable",
    "fees_receivable",
    "shortfall",
)

BROKER_CASH = "broker:cash"
BROKER_INTEREST_INCOME = "broker:interest_income"
BROKER_FEE_INCOME = "broker:fee_income"
BROKER_BAD_DEBT = "broker:bad_debt"
EXTERNAL_BANK = "external:bank"  # fiat in and out through the broker's bank accounts
EXTERNAL_WALLET = "external:wallet"  # virtual assets and stablecoins in and out on-chain
EXTERNAL_DEPOSITORY = "external:depository"  # securities in and out through the depository

# The chart of accounts is closed: a typo in an account name would open a ledger account that
# nothing reads, so names are checked where postings are built.
_LEDGER_ACCOUNT = re.compile(
    rf"^(?:client:{ID_PATTERN}:(?:{'|'.join(CLIENT_ACCOUNT_KINDS)})"
    r"|broker:(?:cash|interest_income|fee_income|bad_debt)"
    r"|external:(?:bank|wallet|depository)"
    rf"|venue:{ID_PATTERN})$"
)


class UnbalancedJournal(ValueError):
    """A journal that does not balance, or has no or zero postings.

    Not a domain refusal: journals are built by the domain, never sent by callers, so this is
    always a bug (the runtime reports it as INTERNAL).
    """


def client_account(client: str, kind: str) -> str:
    if kind not in CLIENT_ACCOUNT_KINDS:
        raise ValueError(f"unknown client ledger account kind {kind!r}")
    return f"client:{client_id(client)}:{kind}"


def client_cash(client: str) -> str:
    return client_account(client, "cash")


def client_custody(client: str) -> str:
    return client_account(client, "custody")


def client_loan(client: str) -> str:
    return client_account(client, "loan")


def client_interest_receivable(client: str) -> str:
    return client_account(client, "interest_receivable")


def client_fees_receivable(client: str) -> str:
    return client_account(client, "fees_receivable")


def client_shortfall(client: str) -> str:
    return client_account(client, "shortfall")


def venue(name: str) -> str:
    account = f"venue:{name}"
    if not _LEDGER_ACCOUNT.fullmatch(account):
        raise ValueError(f"not a venue name: {name!r}")
    return account


def is_ledger_account(name: object) -> bool:
    return isinstance(name, str) and _LEDGER_ACCOUNT.fullmatch(name) is not None


def client_of(ledger_account: str) -> tuple[str, str] | None:
    """(client id, kind) of a ``client:<id>:<kind>`` account, None for any other account."""
    if not ledger_account.startswith("client:"):
        return None
    _, client, kind = ledger_account.split(":")
    return client, kind


@dataclass(frozen=True)
class Posting:
    """``amount`` minor units of ``asset`` into ``ledger_account`` (negative: out of it)."""

    ledger_account: str
    asset: str
    amount: int

    def __post_init__(self) -> None:
        if not is_ledger_account(self.ledger_account):
            raise UnbalancedJournal(f"unknown ledger account {self.ledger_account!r}")
        asset(self.asset)
        if type(self.amount) is not int:
            raise TypeError(f"posting amount must be int, got {type(self.amount).__name__}")

    def __str__(self) -> str:
        return f"{self.ledger_account} {format_minor(asset(self.asset), self.amount)} {self.asset}"


@dataclass(frozen=True)
class Journal:
    """Postings that balance per asset. Order is kept as built (it reads as the story)."""

    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if not self.postings:
            raise UnbalancedJournal("a journal needs at least one posting")
        sums: dict[str, int] = {}
        for posting in self.postings:
            if not isinstance(posting, Posting):
                raise TypeError(f"expected Posting, got {type(posting).__name__}")
            if posting.amount == 0:
                raise UnbalancedJournal(f"zero posting to {posting.ledger_account}")
            sums[posting.asset] = sums.get(posting.asset, 0) + posting.amount
        off = {code: total for code, total in sums.items() if total != 0}
        if off:
            raise UnbalancedJournal(f"journal does not balance: {off}")

    @classmethod
    def of(cls, *postings: Posting) -> Journal:
        return cls(tuple(postings))

    @classmethod
    def netted(cls, postings: Iterable[Posting]) -> Journal:
        """Postings to the same account and asset added up, zero lines dropped.

        For builders whose legs may be zero (a repayment with no interest due).
        """
        totals: dict[tuple[str, str], int] = {}
        for p in postings:
            key = (p.ledger_account, p.asset)
            totals[key] = totals.get(key, 0) + p.amount
        return cls(tuple(Posting(a, c, n) for (a, c), n in totals.items() if n != 0))

    def __iter__(self) -> Iterator[Posting]:
        return iter(self.postings)

    def __len__(self) -> int:
        return len(self.postings)

    def __add__(self, other: Journal) -> Journal:
        return Journal(self.postings + other.postings)

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.asset for p in self.postings))

    def net(self, ledger_account: str, asset_code: str) -> int:
        """What this journal moves into ``ledger_account`` in ``asset_code``."""
        return sum(
            p.amount
            for p in self.postings
            if p.ledger_account == ledger_account and p.asset == asset_code
        )


def transfer(asset_code: str, amount: int, *, source: str, destination: str) -> Journal:
    """``amount`` of one asset from ``source`` to ``destination``: the two-line journal."""
    return Journal.of(
        Posting(destination, asset_code, amount), Posting(source, asset_code, -amount)
    )


def to_json(journal: Journal) -> list[dict[str, str]]:
    """Postings as JSON objects, amounts as canonical decimal strings of the asset's scale."""
    return [
        {
            "account": p.ledger_account,
            "asset": p.asset,
            "amount": format_minor(asset(p.asset), p.amount),
        }
        for p in journal.postings
    ]


def from_json(data: Any) -> Journal:
    """The inverse of :func:`to_json`; anything else is refused (stored data is checked too)."""
    if not isinstance(data, list):
        raise ValueError("a journal is a JSON array of postings")
    postings: list[Posting] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or set(item) != {"account", "asset", "amount"}:
            raise ValueError(f"posting {index} must have exactly account, asset and amount")
        code = item["asset"]
        amount = parse_signed_amount(asset(code), item["amount"], f"postings[{index}].amount")
        postings.append(Posting(item["account"], code, amount.minor))
    return Journal(tuple(postings))
