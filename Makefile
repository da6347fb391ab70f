# Two commands on a fresh machine (Python 3.11+, nothing else):
#   make up     embedded PostgreSQL + migrations + every gRPC service
#   make test   the whole test suite (what .ci/run runs)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install up test protos lint bench bench-store bench-accounts bench-audit bench-valuation bench-risk bench-lending bench-scaling bench-snapshots load fuzz clean

$(STAMP): pyproject.toml scripts/install_node_tools.sh scripts/install_system_tools.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	bash scripts/install_node_tools.sh
	bash scripts/install_system_tools.sh
	touch $@

install: $(STAMP)

# Development mode, on purpose: no authentication, loopback only (docs/runbook.md#security).
up: install
	$(VENV)/bin/harbour up --dev

test: install
	$(PY) -m pytest

protos: install
	$(PY) scripts/gen_protos.py

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . \
	  && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports

bench-store: install
	$(PY) -m bench.store

bench-accounts: install
	$(PY) -m bench.accounts

bench-audit: install
	$(PY) -m bench.audit

bench-valuation: install
	$(PY) -m bench.valuation

# One price tick over HARBOUR_BENCH_RISK_ACCOUNTS accounts (default 1,000,000) in the in-memory
# risk book, next to a bare numpy pass over the same arrays; the exact check on a sample.
# One price tick over 1,000,000 accounts in the risk book; then 1,000 borrowers forced into
# liquidation by one tick, timed to all settled next to as many plain appends; then a stress
# test (BTC -30%, ETH -40%, securities -20%) over the 1,000,000, next to a bare numpy pass.
bench-risk: install
	$(PY) -m bench.risk
	$(PY) -m bench.liquidation
	$(PY) -m bench.stress

# HARBOUR_BENCH_ACCOUNTS borrowers (default 100,000) seeded in process, one day's interest
# accrued for them; draws over gRPC next to a grpc.aio echo.
bench-lending: install
	$(PY) -m bench.lending

# Where one database stops scaling (docs/scaling.md): DrawLoan vs DepositCash from 1-16
# borrowers and 2-4 replicas (the one exposure stream); one projector vs the append rates.
bench-scaling: install
	$(PY) -m bench.scaling

# The broker's exposure at 100,000 groups snapshotted inline and in the background: how long
# the command waits and the event loop stalls.
bench-snapshots: install
	$(PY) -m bench.snapshots

# Every benchmark, then one table of all of them: bench/results/summary.{md,json}.
bench: bench-store bench-accounts bench-audit bench-valuation bench-risk bench-lending bench-scaling bench-snapshots load
	$(PY) -m bench.summary

# A mixed load against `harbour up` for 20 s, then every invariant checked.
load: install
	$(PY) -m bench.load 20

# ~11,000 hostile messages (700 per RPC) against real service processes.
fuzz: install
	HARBOUR_FUZZ_EXAMPLES=700 $(PY) -m pytest tests/e2e/test_hostile_input.py -q

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
