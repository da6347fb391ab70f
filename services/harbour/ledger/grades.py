"""The credit grade scale used by credit assessments and the policy's minimum grade.

Ten grades, best first: AAA, AA, A, BBB, BB, B, CCC, CC, C, D (D: in default). A grade is
"at or above" a minimum when it is the same or better. The scale is closed: a new grade would
change the meaning of every stored minimum, so it is a schema change, not a data change.
"""

from __future__ import annotations

from enum import Enum

from harbour.ledger.errors import UnknownCreditGrade


class CreditGrade(Enum):
    AAA = "AAA"
    AA = "AA"
    A = "A"
    BBB = "BBB"
    BB = "BB"
    B = "B"
    CCC = "CCC"
    CC = "CC"
    C = "C"
    D = "D"

    @property
    def rank(self) -> int:
        """1 for the best grade (AAA) to 10 for the worst (D)."""
        return _RANK[self]

    def at_least(self, minimum: CreditGrade) -> bool:
        return self.rank <= minimum.rank


_RANK: dict[CreditGrade, int] = {grade: index + 1 for index, grade in enumerate(CreditGrade)}


def credit_grade(text: object, field: str = "credit_grade") -> CreditGrade:
    if isinstance(text, str):
        try:
            return CreditGrade(text)
        except ValueError:
            pass
    scale = ", ".join(g.value for g in CreditGrade)
    raise UnknownCreditGrade.for_field(field, f"{str(text)[:20]!r} is not one of {scale}")
