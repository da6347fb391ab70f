"""The risk sweep: an in-memory, vectorised book of every client's positions and debts that
screens a whole price tick at once (:mod:`harbour.risk.book`, pure), and its loader from the
read models (:mod:`harbour.risk.loader`). The screen only picks candidates; every decision is
then made again exactly (int/Decimal) on the account's stream.
"""
