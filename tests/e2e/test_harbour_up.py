"""`harbour up` on a machine with nothing but Python: embedded PostgreSQL, migrations, services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harbour.runtime.settings import SERVICES
from harbour.testing import credit


def free_port_block(size: int) -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size < 65535 and all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free port block")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_serving(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"nothing SERVING on port {port}")


def test_up_serves_every_service_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    base = free_port_block(len(SERVICES) + 1)  # and the projector's health after them
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HARBOUR_DATA_DIR=str(tmp_path / "data"), HARBOUR_PORT_BASE=str(base))
    process = subprocess.Popen(
        [sys.executable, "-m", "harbour.runtime.cli", "up", "--dev"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failed test can stop the services `up` started too
    )
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts six processes slowly
        for offset, _ in enumerate(SERVICES):
            wait_serving(base + offset, deadline)
        wait_serving(base + len(SERVICES), deadline)  # the projector answers health too
        margin_flow(base)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:  # the test failed before Ctrl-C: stop everything `up` runs
            process.send_signal(signal.SIGINT)  # lets `up` stop its PostgreSQL too
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    for offset, name in enumerate(SERVICES):
        assert f"{name:<12} 127.0.0.1:{base + offset}" in output
    assert "harbour stopped" in output
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()


def margin_flow(base: int) -> None:
    """A loan through every service process, each acting as its own database role (so the
    database's event-type ownership is exercised by the real processes)."""
    from datetime import UTC, datetime

    from google.protobuf.timestamp_pb2 import Timestamp

    from harbour.api.v1 import accounts_pb2, collateral_pb2, lending_pb2
    from harbour.api.v1.accounts_pb2_grpc import AccountsServiceStub
    from harbour.api.v1.collateral_pb2_grpc import CollateralServiceStub
    from harbour.api.v1.common_pb2 import Amount, Price
    from harbour.api.v1.lending_pb2_grpc import LendingServiceStub

    def who(name: str) -> tuple[tuple[str, str]]:
        return (("x-harbour-principal", name),)

    now = Timestamp()
    now.FromDatetime(datetime.now(UTC))
    port = {name: base + offset for offset, name in enumerate(SERVICES)}
    with (
        grpc.insecure_channel(f"127.0.0.1:{port['accounts']}") as a,
        grpc.insecure_channel(f"127.0.0.1:{port['collateral']}") as c,
        grpc.insecure_channel(f"127.0.0.1:{port['lending']}") as lend,
    ):
        accounts, collateral, lending = (
            AccountsServiceStub(a),
            CollateralServiceStub(c),
            LendingServiceStub(lend),
        )
        collateral.ProposePolicyChange(
            collateral_pb2.ProposePolicyChangeRequest(
                request_id="up-p1",
                proposal_id="P1",
                parameters=[collateral_pb2.PolicyParameter(name="va_share_cap", value="1")],
                effective_from=now,
            ),
            metadata=who("alice:policy-admin"),
        )
        collateral.ApprovePolicyChange(
            collateral_pb2.ApprovePolicyChangeRequest(request_id="up-a1", proposal_id="P1"),
            metadata=who("bob:policy-admin"),
        )
        collateral.RecordPrice(
            collateral_pb2.RecordPriceRequest(
                request_id="up-btc",
                price=Price(base_asset="BTC", quote_asset="HKD", value="500000.00"),
                observed_at=now,
                source="feed",
            ),
            metadata=who("feed:price-feed"),
        )
        accounts.OnboardClient(
            accounts_pb2.OnboardClientRequest(
                request_id="up-on",
                client_id="C1",
                securities_margin_account_id="SMA-1",
                credit_grade="A",
                credit_limit=Amount(asset="HKD", value="100000.00"),
                margin_agreement_version="MA-1",
                risk_disclosure_version="RD-1",
            ),
            metadata=who("ops:operator"),
        )
        for approval in credit.approval_requests("C1"):  # a second person approves the credit
            accounts.ApproveClientFact(approval, metadata=credit.CHECKER)
        accounts.DepositCollateral(
            accounts_pb2.DepositCollateralRequest(
                request_id="up-dep",
                client_id="C1",
                quantity=Amount(asset="BTC", value="1"),
                reference="wallet",
            ),
            metadata=who("desk:trading-platform"),
        )
        lending.ApproveFacility(
            lending_pb2.ApproveFacilityRequest(
                request_id="up-fac",
                client_id="C1",
                facility_id="F1",
                credit_limit=Amount(asset="HKD", value="100000.00"),
                annual_rate="0.068",
            ),
            metadata=who("risk:risk"),
        )
        drawn = lending.DrawLoan(
            lending_pb2.DrawLoanRequest(
                request_id="up-draw", client_id="C1", amount=Amount(asset="HKD", value="50000.00")
            ),
            metadata=who("desk:trading-platform"),
        )
        # CV = 500,000 x 0.4 = 200,000 (cap disabled): 50,000 is U = 0.25.
        assert drawn.utilisation_after == "0.250000"


def child_pid(parent: int, *argv: str) -> int:
    """The pid of ``parent``'s child whose command line ends with ``argv`` (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        words = [w.decode() for w in cmdline if w]
        if ppid == parent and tuple(words[-len(argv) :]) == argv:
            return int(entry.name)
    raise AssertionError(f"no child {' '.join(argv)} of {parent}")


def test_up_restarts_a_killed_service_while_the_others_keep_answering(tmp_path: Path) -> None:
    base = free_port_block(len(SERVICES) + 1)
    port = {name: base + offset for offset, name in enumerate(SERVICES)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOUR_")}
    env.update(HARBOUR_DATA_DIR=str(tmp_path / "data"), HARBOUR_PORT_BASE=str(base))
    process = subprocess.Popen(
        [sys.executable, "-m", "harbour.runtime.cli", "up", "--dev"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    answers: list[bool] = []
    watching = threading.Event()
    watching.set()

    def watch_accounts() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port['accounts']}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while watching.is_set():
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                    answers.append(reply.status == health_pb2.HealthCheckResponse.SERVING)
                except grpc.RpcError:
                    answers.append(False)
                time.sleep(0.05)

    watcher = threading.Thread(target=watch_accounts)
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts six processes slowly
        for name in SERVICES:
            wait_serving(port[name], deadline)
        watcher.start()
        killed = child_pid(process.pid, "serve", "collateral")
        os.kill(killed, signal.SIGKILL)  # a crash: no graceful stop, no exit code
        time.sleep(0.3)
        wait_serving(port["collateral"], time.monotonic() + 60)  # restarted by `up`
        assert child_pid(process.pid, "serve", "collateral") != killed
        watching.clear()
        watcher.join(timeout=10)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        watching.clear()
        if process.poll() is None:  # the test failed before Ctrl-C: stop everything `up` runs
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    # The accounts service answered SERVING throughout the crash and the restart.
    assert len(answers) > 5 and all(answers), answers
    assert "collateral exited unexpectedly (signal SIGKILL)" in output, output
    assert "collateral restarted (restart 1)" in output, output
    assert process.returncode == 0, output
    assert "harbour stopped" in output
