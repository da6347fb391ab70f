"""The forced-sale state machine, decided purely: hand-computed sizes, every exit taken."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from harbour.ledger import events as ev
from harbour.ledger.account import Lifecycle, MarginAccount, RiskState, evolve
from harbour.ledger.balances import Balances
from harbour.ledger.errors import (
    InsufficientBalance,
    InvalidArgument,
    LiquidationInProgress,
    NothingToRepay,
    NotInDeficit,
    SameMakerAndChecker,
)
from harbour.ledger.money import Money
from harbour.ledger.policy import DEFAULT_POLICY
from harbour.ledger.valuation import PriceBook, holdings_of
from harbour.liquidation.domain import (
    AdvanceLiquidation,
    ApproveSettlement,
    Context,
    Decision,
    NoVenueQuote,
    ProposeSettlement,
    RejectSettlement,
    ResumeLiquidation,
    SettleOrder,
    StartLiquidation,
    decide,
)
from harbour.liquidation.sizing import liquidation_fee, plan_sale, proceeds_of
from harbour.liquidation.venue import OrderResult, OrderStatus, Quote, VenueFill

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # a Saturday: crypto trades, HKEX is shut
NO_CAP = replace(DEFAULT_POLICY, va_share_cap=Decimal(1))
SAT = 10**8
WEI = 10**18


def price(code: str, value: str, at: datetime = NOW) -> ev.PricePoint:
    return ev.PricePoint(code, "HKD", Decimal(value), at, "test")


def account(**balances: dict[str, int]) -> MarginAccount:
    """An ACTIVE borrower with the given balances (cash, collateral, principal)."""
    fields = {name: Balances.of(amounts) for name, amounts in balances.items()}
    return MarginAccount(
        "C1",
        status=Lifecycle.ACTIVE,
        credit_limit=Money.of("HKD", "10000000"),
        facility_id="F1",
        annual_rate=Decimal("0.06"),
        **fields,
    )


def liquidating(state: MarginAccount, policy=NO_CAP) -> MarginAccount:  # type: ignore[no-untyped-def]
    started = ev.LiquidationStarted(
        state.client_id,
        "liq-1",
        ev.LiquidationTrigger.FORCED_SALE_THRESHOLD,
        policy.liquidation_target_utilisation,
        ev.RiskFigures(*(Money.of("HKD", "0"),) * 3, None),
        ev.DecisionBasis(policy.version, (), NOW),
    )
    return evolve(state, started)


def quote(venue: str, code: str, bid: str, depth: int, affiliated: bool = False) -> Quote:
    return Quote(venue, code, Decimal(bid), depth, depth, affiliated, NOW)


def context(prices: dict[str, str], policy=NO_CAP, actor: str = "engine") -> Context:  # type: ignore[no-untyped-def]
    return Context(NOW, policy, {c: price(c, p) for c, p in prices.items()}, "r1", actor)


def fold(state: MarginAccount, decision: Decision) -> MarginAccount:
    for event in decision.account:
        state = evolve(state, event)
    return state


def utilisation_ok(state: MarginAccount, ctx: Context, limit: Decimal) -> bool:
    valuation = PriceBook(ctx.prices, ctx.policy, ctx.now).value(holdings_of(state))
    return valuation.debt * limit.as_integer_ratio()[1] <= (
        limit.as_integer_ratio()[0] * valuation.marginable_value
    )


def fill_all(state: MarginAccount, placed: Decision, at_price: dict[str, str]) -> MarginAccount:
    """Every placed order filled whole at ``at_price``; the settlements folded in."""
    for order in [e for e in placed.account if isinstance(e, ev.LiquidationOrderPlaced)]:
        code = order.quantity.asset.code
        fill = VenueFill(
            f"{order.order_id}-f1", order.quantity.minor, Decimal(at_price[code]), "cp", NOW
        )
        result = OrderResult(order.order_id, order.venue, OrderStatus.FILLED, (fill,))
        state = fold(state, decide(state, SettleOrder("C1", result), context(PRICES)))
    return state


PRICES = {"BTC": "100000", "ETH": "20000"}


# ------------------------------------------------------------------------ hand-computed sizes


def test_one_asset_is_sold_to_the_target_by_the_closed_form() -> None:
    # 1 BTC at 100,000 HKD, 60% haircut, cap off: CV 40,000, D 60,000, U 150%.
    # x = (60,000 - 0.8 x 40,000) / (0.98 - 0.8 x 0.4) = 28,000 / 0.66 = 42,424.2424 HKD
    # of BTC at 100,000 = 0.42424243 BTC (rounded up to the satoshi).
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    ctx = context(PRICES)
    legs = plan_sale(state, ctx.book, NO_CAP, Decimal("0.8"), {"BTC": Decimal(100000)})
    assert len(legs) == 1
    sold = legs[0].quantity
    assert abs(sold - 42_424_243) <= 30  # cents of rounding (1 sat = 0.001 HKD) move it
    # ... and it is the least quantity that reaches the target:
    decision = decide(
        state, AdvanceLiquidation("C1", {"BTC": (quote("a", "BTC", "100000", SAT),)}), ctx
    )
    (order,) = decision.account
    assert isinstance(order, ev.LiquidationOrderPlaced) and order.quantity.minor == sold
    after = fill_all(fold(state, decision), decision, {"BTC": "100000"})
    assert utilisation_ok(after, ctx, Decimal("0.8"))
    one_less = replace(legs[0], quantity=sold - 1)
    before_sale = fold(state, decision)
    short = fill_all(
        before_sale,
        Decision(
            [
                replace(
                    order,
                    quantity=Money.of("BTC", "0") + Money(order.quantity.asset, one_less.quantity),
                )
            ]
        ),
        {"BTC": "100000"},
    )
    assert not utilisation_ok(short, ctx, Decimal("0.8"))
    done = decide(after, AdvanceLiquidation("C1", {}), ctx)
    assert isinstance(done.account[0], ev.LiquidationCompleted)
    assert done.account[0].outcome == "target_reached"
    assert fold(after, done).risk is RiskState.HEALTHY


def test_proceeds_pay_interest_then_fees_then_principal_with_a_two_percent_fee() -> None:
    state = liquidating(
        account(
            collateral={"BTC": SAT},
            principal={"HKD": 5_000_000},
            accrued_interest={"HKD": 600_000},
            unpaid_fees={"HKD": 400_000},
        )
    )
    order = decide(
        state,
        AdvanceLiquidation("C1", {"BTC": (quote("a", "BTC", "100000", SAT),)}),
        context(PRICES),
    )
    placed = fold(state, order)
    (o,) = order.account
    assert isinstance(o, ev.LiquidationOrderPlaced)
    fill = VenueFill("f1", 10_000_000, Decimal("99999.99"), "cp", NOW)  # 0.1 BTC
    result = OrderResult(o.order_id, "a", OrderStatus.PARTIALLY_FILLED, (fill,))
    settled = decide(placed, SettleOrder("C1", result), context(PRICES))
    kinds = [type(e).__name__ for e in settled.account]
    assert kinds == [
        "LiquidationFillExecuted",
        "FeeCharged",
        "LiquidationProceedsApplied",
        "LiquidationOrderSettled",
    ]
    filled, fee, applied, settlement = settled.account
    # 0.1 BTC x 99,999.99 = 9,999.999 HKD -> 9,999.99 (rounded down, the broker's side);
    # the fee 2% of it = 199.9998 -> 200.00 (rounded up: the client owes it).
    assert isinstance(filled, ev.LiquidationFillExecuted) and filled.proceeds == Money.of(
        "HKD", "9999.99"
    )
    assert isinstance(fee, ev.FeeCharged) and fee.amount == Money.of("HKD", "200.00")
    assert isinstance(applied, ev.LiquidationProceedsApplied)
    assert applied.interest == Money.of("HKD", "6000.00")
    assert applied.fees == Money.of("HKD", "3799.99")
    assert applied.principal == Money.of("HKD", "0.00")
    assert isinstance(settlement, ev.LiquidationOrderSettled)
    assert settlement.released == Money(settlement.released.asset, o.quantity.minor - 10_000_000)
    after = fold(placed, settled)
    assert after.reserved.is_zero and after.liquidation is not None and not after.liquidation.orders
    assert after.collateral.get("BTC") == SAT - 10_000_000
    journals = [j for e in settled.account if (j := ev.journal_of(e)) is not None]
    assert len(journals) == 3
    for journal in journals:  # every movement is a balanced double entry, per asset
        sums: dict[str, int] = {}
        for posting in journal:
            sums[posting.asset] = sums.get(posting.asset, 0) + posting.amount
        assert set(sums.values()) == {0}


def test_fee_rounding_is_up_to_the_cent() -> None:
    assert liquidation_fee(Money.of("HKD", "123.45"), Decimal("0.02")) == Money.of("HKD", "2.47")
    assert liquidation_fee(Money.of("HKD", "100.00"), Decimal("0.02")) == Money.of("HKD", "2.00")
    assert proceeds_of("ETH", 1, Decimal("20000")) == Money.of("HKD", "0.00")  # one wei is nothing


def test_two_assets_sell_eth_first_then_btc() -> None:
    # 1 ETH at 20,000 (35% marginable: 7,000) and 1 BTC at 100,000 (40,000); D 60,000.
    # All the ETH (net 19,600) leaves D 40,400 against CV 40,000: still above 80%, so BTC too.
    state = liquidating(account(collateral={"BTC": SAT, "ETH": WEI}, principal={"HKD": 6_000_000}))
    ctx = context(PRICES)
    quotes = {
        "BTC": (quote("a", "BTC", "100000", SAT),),
        "ETH": (quote("a", "ETH", "20000", WEI),),
    }
    decision = decide(state, AdvanceLiquidation("C1", quotes), ctx)
    orders = [e for e in decision.account if isinstance(e, ev.LiquidationOrderPlaced)]
    assert [o.quantity.asset.code for o in orders] == ["ETH", "BTC"]
    assert orders[0].quantity.minor == WEI  # all of it
    # Closed form on what is left: (40,400 - 0.8 x 40,000) / 0.66 = 12,727.27 HKD of BTC.
    assert abs(orders[1].quantity.minor - 12_727_273) <= 30
    after = fill_all(fold(state, decision), decision, {"BTC": "100000", "ETH": "20000"})
    assert utilisation_ok(after, ctx, Decimal("0.8"))


def test_where_the_va_cap_binds_the_sale_is_solved_on_the_capped_value() -> None:
    # Default policy (cap 50%): 1,000 shares of 0700.HK at 300 with a 30% haircut give 210,000
    # of non-VA marginable value, so VA marginable value counts up to 210,000. 10 BTC give
    # 400,000 of it: the cap binds. D = 480,000: U = 480,000 / 420,000 = 114%.
    policy = replace(
        DEFAULT_POLICY, haircuts={**DEFAULT_POLICY.haircuts, "0700.HK": Decimal("0.30")}
    )
    state = liquidating(
        account(collateral={"BTC": 10 * SAT, "0700.HK": 1000}, principal={"HKD": 48_000_000}),
        policy,
    )
    ctx = Context(
        NOW, policy, {"BTC": price("BTC", "100000"), "0700.HK": price("0700.HK", "300")}, "r", "e"
    )
    legs = plan_sale(state, ctx.book, policy, Decimal("0.8"), {"BTC": Decimal(100000)})
    (leg,) = legs
    # Capped: selling BTC lowers D by 0.98 per HKD and leaves CV at 420,000 while the BTC
    # marginable value stays above the allowance: x = (480,000 - 336,000) / 0.98 = 146,938.78
    # HKD = 1.46938776 BTC. The closed form (uncapped) would sell 218,181.82 HKD of it.
    assert abs(leg.quantity - 146_938_776) <= 30
    closed_form = (Decimal(480000) - Decimal("0.8") * 420000) / (
        Decimal("0.98") - Decimal("0.8") * Decimal("0.4")
    )
    assert leg.quantity < int(closed_form / 100000 * SAT)
    from harbour.liquidation.sizing import after_sale

    holdings = holdings_of(state)
    reached = ctx.book.value(
        after_sale(holdings, "BTC", leg.quantity, Decimal(100000), policy.liquidation_fee)
    )
    short = ctx.book.value(
        after_sale(holdings, "BTC", leg.quantity - 1, Decimal(100000), policy.liquidation_fee)
    )
    assert reached.debt * 5 <= 4 * reached.marginable_value
    assert short.debt * 5 > 4 * short.marginable_value


def test_target_unreachable_ends_in_deficit_with_the_exact_shortfall() -> None:
    # 0.5 BTC at 100,000 against D = 60,000 + 1,000 cash: everything sells and some is left.
    state = liquidating(
        account(collateral={"BTC": SAT // 2}, cash={"HKD": 100_000}, principal={"HKD": 6_000_000})
    )
    ctx = context(PRICES)
    decision = decide(
        state, AdvanceLiquidation("C1", {"BTC": (quote("a", "BTC", "100000", SAT),)}), ctx
    )
    (order,) = decision.account
    assert isinstance(order, ev.LiquidationOrderPlaced) and order.quantity.minor == SAT // 2
    after = fill_all(fold(state, decision), decision, {"BTC": "100000"})
    # proceeds 50,000.00, fee 1,000.00, net 49,000.00 applied: principal 11,000.00 left.
    assert after.principal.get("HKD") == 1_100_000
    end = decide(after, AdvanceLiquidation("C1", {}), ctx)
    kinds = [type(e).__name__ for e in end.account]
    assert kinds == ["LiquidationProceedsApplied", "ShortfallRecognised"]
    shortfall = end.account[1]
    assert isinstance(shortfall, ev.ShortfallRecognised)
    assert shortfall.shortfall == Money.of("HKD", "10000.00")  # 11,000 less the 1,000 of cash
    exposure = [e for e in end.exposure if isinstance(e, ev.BrokerExposureChanged)]
    assert sum(e.change.minor for e in exposure) == -1_100_000
    deficit = fold(after, end)
    assert deficit.risk is RiskState.DEFICIT and deficit.shortfall.get("HKD") == 1_000_000
    assert not deficit.has_balances


def test_deficit_is_recovered_or_written_off_by_a_maker_and_a_different_checker() -> None:
    state = MarginAccount(
        "C1",
        status=Lifecycle.ACTIVE,
        risk=RiskState.DEFICIT,
        shortfall=Balances.of({"HKD": 1_000_000}),
        cash=Balances.of({"HKD": 300_000}),
    )
    maker, checker = context(PRICES, actor="maker"), context(PRICES, actor="checker")
    with pytest.raises(InsufficientBalance):
        decide(
            state,
            ProposeSettlement("C1", "p0", "recovery", Money.of("HKD", "5000"), "client_cash", "r"),
            maker,
        )
    with pytest.raises(InvalidArgument):  # a write-off must take the whole rest
        decide(
            state, ProposeSettlement("C1", "p0", "write_off", Money.of("HKD", "1"), "", "r"), maker
        )
    proposed = fold(
        state,
        decide(
            state,
            ProposeSettlement("C1", "p1", "recovery", Money.of("HKD", "3000"), "client_cash", "r"),
            maker,
        ),
    )
    with pytest.raises(SameMakerAndChecker):
        decide(proposed, ApproveSettlement("C1", "p1"), maker)
    recovered = fold(proposed, decide(proposed, ApproveSettlement("C1", "p1"), checker))
    assert recovered.shortfall.get("HKD") == 700_000 and recovered.risk is RiskState.DEFICIT
    assert recovered.cash.get("HKD") == 0
    rejected = fold(
        recovered,
        decide(
            recovered,
            ProposeSettlement("C1", "p2", "write_off", Money.of("HKD", "7000"), "", "r"),
            maker,
        ),
    )
    rejected = fold(rejected, decide(rejected, RejectSettlement("C1", "p2", "not yet"), checker))
    assert rejected.settlements == () and rejected.risk is RiskState.DEFICIT
    proposed = fold(
        rejected,
        decide(
            rejected,
            ProposeSettlement("C1", "p3", "write_off", Money.of("HKD", "7000"), "", "r"),
            maker,
        ),
    )
    written = fold(proposed, decide(proposed, ApproveSettlement("C1", "p3"), checker))
    assert written.risk is RiskState.WRITTEN_OFF and not written.has_debt
    with pytest.raises(NotInDeficit):
        decide(
            written,
            ProposeSettlement("C1", "p4", "recovery", Money.of("HKD", "1"), "external", "r"),
            maker,
        )
    # A full recovery from outside ends RECOVERED.
    full = fold(
        state,
        decide(
            state,
            ProposeSettlement("C1", "p5", "recovery", Money.of("HKD", "10000"), "external", "r"),
            maker,
        ),
    )
    assert (
        fold(full, decide(full, ApproveSettlement("C1", "p5"), checker)).risk is RiskState.RECOVERED
    )


def test_a_client_deposit_during_a_liquidation_cures_it() -> None:
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    deposit = ev.CashDeposited("C1", Money.of("HKD", "30000"), "top-up", _deposit_journal("30000"))
    cured = evolve(state, deposit)
    # CV = 40,000 + 30,000 = 70,000 >= D 60,000 (86%): above the target but no call any more.
    end = decide(cured, AdvanceLiquidation("C1", {}), context(PRICES))
    assert isinstance(end.account[0], ev.LiquidationCompleted) and end.account[0].outcome == "cured"
    assert fold(cured, end).risk is RiskState.HEALTHY


def test_a_sale_below_the_slippage_floor_pauses_for_an_operator() -> None:
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    ctx = context(PRICES)  # mark 100,000; floor 95,000 at the default 5% slippage
    thin = {"BTC": (quote("a", "BTC", "90000", SAT),)}
    paused = decide(state, AdvanceLiquidation("C1", thin), ctx)
    (event,) = paused.account
    assert isinstance(event, ev.LiquidationPaused) and event.floor_price == Decimal("95000.00")
    waiting = fold(state, paused)
    assert decide(waiting, AdvanceLiquidation("C1", thin), ctx).account == []
    resumed = fold(
        waiting,
        decide(
            waiting, ResumeLiquidation("C1", "BTC", Decimal("89000"), "accept the thin market"), ctx
        ),
    )
    placed = decide(resumed, AdvanceLiquidation("C1", thin), ctx)
    assert isinstance(placed.account[0], ev.LiquidationOrderPlaced)
    assert placed.account[0].limit_price == Decimal("89000")


def test_the_affiliated_maker_worse_than_the_independent_quote_is_not_routed() -> None:
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    quotes = {
        "BTC": (
            quote("affiliated-mm", "BTC", "99500", SAT, affiliated=True),
            quote("venue-a", "BTC", "99800", SAT),
        )
    }
    placed = decide(state, AdvanceLiquidation("C1", quotes), context(PRICES))
    venues = {e.venue for e in placed.account if isinstance(e, ev.LiquidationOrderPlaced)}
    assert venues == {"venue-a"}
    better = {
        "BTC": (quote("affiliated-mm", "BTC", "99900", SAT, affiliated=True), quotes["BTC"][1])
    }
    placed = decide(state, AdvanceLiquidation("C1", better), context(PRICES))
    (order,) = placed.account
    assert isinstance(order, ev.LiquidationOrderPlaced)
    assert order.affiliated and order.best_independent_quote == Decimal("99800")
    assert order.limit_price >= Decimal("99800")  # it can never fill worse than that


def test_a_fill_that_breaks_its_order_is_not_accepted_and_pauses_the_sale() -> None:
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    placed = decide(
        state,
        AdvanceLiquidation("C1", {"BTC": (quote("a", "BTC", "100000", SAT),)}),
        context(PRICES),
    )
    (order,) = placed.account
    assert isinstance(order, ev.LiquidationOrderPlaced)
    open_state = fold(state, placed)
    bad = VenueFill("f1", 1000, order.limit_price - 1, "cp", NOW)
    result = OrderResult(order.order_id, "a", OrderStatus.PARTIALLY_FILLED, (bad,))
    settled = decide(open_state, SettleOrder("C1", result), context(PRICES))
    assert [type(e).__name__ for e in settled.account] == [
        "LiquidationOrderSettled",
        "LiquidationPaused",
    ]
    after = fold(open_state, settled)
    assert after.collateral.get("BTC") == SAT and after.reserved.is_zero
    # Settling again is a no-op (idempotent): the order is no longer open.
    assert decide(after, SettleOrder("C1", result), context(PRICES)).account == []


def test_open_orders_reserve_the_collateral_they_sell() -> None:
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    placed = decide(
        state,
        AdvanceLiquidation("C1", {"BTC": (quote("a", "BTC", "100000", SAT),)}),
        context(PRICES),
    )
    open_state = fold(state, placed)
    (order,) = placed.account
    assert isinstance(order, ev.LiquidationOrderPlaced)
    assert open_state.reserved.get("BTC") == order.quantity.minor
    assert open_state.available_collateral("BTC") == SAT - order.quantity.minor
    # While an order is open the engine places nothing more.
    assert (
        decide(
            open_state,
            AdvanceLiquidation("C1", {"BTC": (quote("a", "BTC", "100000", SAT),)}),
            context(PRICES),
        ).account
        == []
    )
    cancelled = OrderResult(order.order_id, "a", OrderStatus.CANCELLED, (), "venue timeout")
    released = fold(open_state, decide(open_state, SettleOrder("C1", cancelled), context(PRICES)))
    assert released.reserved.is_zero and released.collateral.get("BTC") == SAT


def test_no_quote_waits_and_bad_operator_input_is_refused() -> None:
    state = liquidating(account(collateral={"BTC": SAT}, principal={"HKD": 6_000_000}))
    with pytest.raises(NoVenueQuote):
        decide(state, AdvanceLiquidation("C1", {}), context(PRICES))
    with pytest.raises(LiquidationInProgress):
        decide(state, StartLiquidation("C1", "again"), context(PRICES))
    healthy = account(collateral={"BTC": SAT})
    with pytest.raises(NothingToRepay):
        decide(healthy, StartLiquidation("C1", "no debt"), context(PRICES))
    owing = account(collateral={"BTC": SAT}, principal={"HKD": 100})
    with pytest.raises(InvalidArgument):
        decide(owing, StartLiquidation("C1", "   "), context(PRICES))
    started = decide(owing, StartLiquidation("C1", "client asked to close out"), context(PRICES))
    (event,) = started.account
    assert isinstance(event, ev.LiquidationStarted)
    assert (
        event.trigger is ev.LiquidationTrigger.OPERATOR
        and event.reason == "client asked to close out"
    )


def _deposit_journal(value: str):  # type: ignore[no-untyped-def]
    from harbour.ledger import journals

    return journals.cash_deposit("C1", Money.of("HKD", value))


_ = timedelta
