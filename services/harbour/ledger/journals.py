"""The journal of each value-moving event, built in one place so the conventions hold.

Every builder returns a balanced :class:`Journal` following the sign convention of
``postings.py``. Domain code calls these rather than writing postings by hand; ``evolve``
reads balances back from the postings, so a journal built here is also the state change.
"""

from __future__ import annotations

from harbour.ledger.assets import AssetKind
from harbour.ledger.money import Money
from harbour.ledger.postings import (
    BROKER_BAD_DEBT,
    BROKER_FEE_INCOME,
    BROKER_INTEREST_INCOME,
    EXTERNAL_BANK,
    EXTERNAL_DEPOSITORY,
    EXTERNAL_WALLET,
    Journal,
    Posting,
    client_cash,
    client_custody,
    client_fees_receivable,
    client_interest_receivable,
    client_loan,
    client_shortfall,
    transfer,
    venue,
)


def _positive(*amounts: Money) -> None:
    for amount in amounts:
        if amount.minor <= 0:
            raise ValueError(f"journal amounts must be positive, got {amount}")


def external_account(amount: Money) -> str:
    """Where an asset of this kind enters and leaves the ledger."""
    if amount.asset.kind is AssetKind.FIAT:
        return EXTERNAL_BANK
    if amount.asset.kind is AssetKind.SECURITY:
        return EXTERNAL_DEPOSITORY
    return EXTERNAL_WALLET


def cash_deposit(client: str, amount: Money) -> Journal:
    _positive(amount)
    return transfer(
        amount.asset.code,
        amount.minor,
        source=external_account(amount),
        destination=client_cash(client),
    )


def cash_withdrawal(client: str, amount: Money) -> Journal:
    _positive(amount)
    return transfer(
        amount.asset.code,
        amount.minor,
        source=client_cash(client),
        destination=external_account(amount),
    )


def collateral_deposit(client: str, quantity: Money) -> Journal:
    _positive(quantity)
    return transfer(
        quantity.asset.code,
        quantity.minor,
        source=external_account(quantity),
        destination=client_custody(client),
    )


def collateral_withdrawal(client: str, quantity: Money) -> Journal:
    _positive(quantity)
    return transfer(
        quantity.asset.code,
        quantity.minor,
        source=client_custody(client),
        destination=external_account(quantity),
    )


def loan_advance(client: str, amount: Money) -> Journal:
    """The loan account goes negative by what the client now owes; the cash is theirs."""
    _positive(amount)
    return transfer(
        amount.asset.code,
        amount.minor,
        source=client_loan(client),
        destination=client_cash(client),
    )


def repayment(client: str, *, interest: Money, fees: Money, principal: Money) -> Journal:
    """Cash from the client's account settles interest, then fees, then principal.

    The split is the caller's decision (it follows the repayment order of docs/domain.md);
    zero legs are dropped. All three must be in the same asset.
    """
    code = principal.asset.code
    total = interest + fees + principal
    _positive(total)
    return Journal.netted(
        (
            Posting(client_cash(client), code, -total.minor),
            Posting(client_interest_receivable(client), code, interest.minor),
            Posting(client_fees_receivable(client), code, fees.minor),
            Posting(client_loan(client), code, principal.minor),
        )
    )


def interest_accrual(client: str, amount: Money) -> Journal:
    _positive(amount)
    return transfer(
        amount.asset.code,
        amount.minor,
        source=client_interest_receivable(client),
        destination=BROKER_INTEREST_INCOME,
    )


def interest_capitalisation(client: str, amount: Money) -> Journal:
    """Accrued interest becomes principal: it leaves interest owed and joins the loan."""
    _positive(amount)
    return transfer(
        amount.asset.code,
        amount.minor,
        source=client_loan(client),
        destination=client_interest_receivable(client),
    )


def fee_charge(client: str, amount: Money, *, from_cash: bool = False) -> Journal:
    """A fee earned by the broker: taken from cash, or left unpaid as part of the debt."""
    _positive(amount)
    source = client_cash(client) if from_cash else client_fees_receivable(client)
    return transfer(amount.asset.code, amount.minor, source=source, destination=BROKER_FEE_INCOME)


def liquidation_fill(
    client: str, venue_name: str, *, quantity: Money, proceeds: Money, fee: Money
) -> Journal:
    """Collateral goes to the venue, proceeds less the liquidation fee to the client's cash.

    The fee may be zero; repaying the debt from the proceeds is a separate :func:`repayment`.
    """
    _positive(quantity, proceeds)
    if fee.minor < 0 or fee > proceeds:
        raise ValueError(f"fee {fee} must be between zero and the proceeds {proceeds}")
    at = venue(venue_name)
    code = proceeds.asset.code
    return Journal.netted(
        (
            Posting(client_custody(client), quantity.asset.code, -quantity.minor),
            Posting(at, quantity.asset.code, quantity.minor),
            Posting(at, code, -proceeds.minor),
            Posting(client_cash(client), code, proceeds.minor - fee.minor),
            Posting(BROKER_FEE_INCOME, code, fee.minor),
        )
    )


def shortfall_recognition(
    client: str, *, principal: Money, interest: Money, fees: Money
) -> Journal:
    """Debt left after all collateral is sold becomes one claim in deficit; it stays owed."""
    code = principal.asset.code
    total = principal + interest + fees
    _positive(total)
    return Journal.netted(
        (
            Posting(client_loan(client), code, principal.minor),
            Posting(client_interest_receivable(client), code, interest.minor),
            Posting(client_fees_receivable(client), code, fees.minor),
            Posting(client_shortfall(client), code, -total.minor),
        )
    )


def debt_recovery(client: str, amount: Money, *, from_cash: bool = False) -> Journal:
    """Money recovered against a shortfall: from outside (a bank transfer) or the cash account."""
    _positive(amount)
    source = client_cash(client) if from_cash else external_account(amount)
    return transfer(
        amount.asset.code, amount.minor, source=source, destination=client_shortfall(client)
    )


def reversal(original: Journal) -> Journal:
    """The exact opposite of ``original``: every posting negated, in the same order. Booked
    by a correction, it leaves every balance as if the original had never happened."""
    return Journal(tuple(Posting(p.ledger_account, p.asset, -p.amount) for p in original))


def debt_write_off(client: str, amount: Money) -> Journal:
    """The broker gives up the claim: the loss lands in bad debt."""
    _positive(amount)
    return transfer(
        amount.asset.code,
        amount.minor,
        source=BROKER_BAD_DEBT,
        destination=client_shortfall(client),
    )
