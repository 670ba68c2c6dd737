"""The approval state machine against real storage and the demo IBM i: decide once, execute once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from bot import __version__
from bot.changes.approvals import ApprovalService
from bot.ibmi import sql
from bot.ibmi.access import SystemConnection
from bot.ibmi.cl import ChangeSmtpRelay, EndTcpConnection
from bot.ibmi_settings import open_system
from storage import approvals as store
from storage import audit, open_database
from tests.test_alerts_e2e import FakeClock, make_config

REQUESTER, APPROVER, SECOND, STRANGER = "U01OPERATOR", "U02APPROVER", "U03APPROVER", "U09STRANGER"


class Roles:
    def is_operator(self, user: str) -> bool:
        return user in (REQUESTER, APPROVER, SECOND)

    def is_approver(self, user: str, action: str | None = None) -> bool:
        return user in (APPROVER, SECOND)

    def is_approver_now(self, user: str, action: str | None = None) -> bool:
        return self.is_approver(user, action)

    def approvers_now(self, action: str | None = None) -> frozenset[str]:
        return frozenset((APPROVER, SECOND))


class CountingConnection:
    """The real demo connection, counting the CL it is asked to run."""

    def __init__(self, connection: SystemConnection):
        self.connection = connection
        self.runs: list[str] = []
        self.lock = threading.Lock()

    def query(self, statement: str, params=()):  # noqa: ANN001, ANN201
        return self.connection.query(statement, params)

    def query_rows(self, statement: str, params, convert, reuse=False):  # noqa: ANN001, ANN201
        return self.connection.query_rows(statement, params, convert, reuse)

    def run_cl(self, command) -> None:  # noqa: ANN001
        with self.lock:
            self.runs.append(command.to_cl())
        self.connection.run_cl(command)


@pytest.fixture
def setup(tmp_path):
    config = make_config(tmp_path)
    storage = open_database(config.storage.path, __version__)
    clock = FakeClock()
    connection = CountingConnection(open_system(config.systems[0]))
    service = ApprovalService(storage, config, Roles(), lambda system: connection, clock.now)
    yield service, storage, clock, connection, config
    storage.close()


TELNET = dict(local_address="10.1.1.5", local_port=23, remote_address="210.107.73.73", remote_port=40411)


def submit_end(service: ApprovalService, requester: str = REQUESTER, reason: str = "unknown telnet user"):
    return service.submit(
        system="DEMO",
        action="end-connection",
        params={"address": "210.107.73.73"},
        commands=[EndTcpConnection.build(**TELNET)],
        summary="End 1 connection from 210.107.73.73",
        requester=requester,
        reason=reason,
    )


def test_a_request_stores_the_exact_cl_and_runs_it_once_approved(setup):
    service, storage, clock, connection, _ = setup
    submitted = submit_end(service)
    assert submitted.ok
    request = store.get(storage, submitted.request.id)
    assert request.commands == (
        "QSYS/ENDTCPCNN PROTOCOL(*TCP) LCLINTNETA('10.1.1.5') LCLPORT(23) RMTINTNETA('210.107.73.73') RMTPORT(40411)",
    )
    assert request.state == "pending" and request.expires_at == clock.now() + 3600
    assert "Approved" in service.approve(request.id, APPROVER)
    assert store.get(storage, request.id).state == "done"
    assert connection.runs == list(request.commands)
    remotes = {r.remote_address for r in sql.read_tcp_connections(connection.connection)}
    assert "210.107.73.73" not in remotes


def test_refusals_run_nothing(setup):
    service, storage, clock, connection, _ = setup
    assert not submit_end(service, requester=STRANGER).ok  # not an operator
    assert not submit_end(service, reason="").ok  # reason required by default
    request = submit_end(service).request
    assert "Only approvers" in service.approve(request.id, REQUESTER)  # an operator, not an approver
    own = submit_end(service, requester=APPROVER).request
    assert "another approver" in service.approve(own.id, APPROVER)  # never the requester
    assert "Only approvers" in service.approve(request.id, STRANGER)
    assert "does not exist" in service.approve("Rnope", APPROVER)
    assert "does not belong" in service.approve(request.id, APPROVER, system_in_payload="OTHER")
    assert connection.runs == []
    refused = [e for e in audit.recent(storage, 50) if e.action == "refused"]
    assert len(refused) == 7


def test_decided_and_expired_requests_cannot_be_decided(setup):
    service, storage, clock, connection, _ = setup
    first = submit_end(service).request
    service.reject(first.id, APPROVER, "not now")
    assert "already rejected" in service.approve(first.id, SECOND)
    second = service.submit(
        system="DEMO",
        action="relay-set",
        params={"allow_relay": "*LIST"},
        commands=[ChangeSmtpRelay.build("list")],
        summary="Set relay to *LIST",
        requester=REQUESTER,
        reason="close the relay",
    ).request
    clock.advance(3601)
    assert "already expired" in service.approve(second.id, APPROVER)
    assert store.get(storage, second.id).state == "expired"
    assert connection.runs == []


def test_min_approvals_counts_distinct_approvers_once(setup, tmp_path):
    service, storage, clock, connection, config = setup
    from bot.config import ApprovalPolicy

    strict = replace(
        config,
        approvals={
            **config.approvals,
            "end-connection": ApprovalPolicy(
                approvers=(APPROVER, SECOND), min_approvals=2, ttl=3600.0, reason_required=True
            ),
        },
    )
    service.config = strict
    request = submit_end(service).request
    assert "1 of 2" in service.approve(request.id, APPROVER)
    assert "already counted" in service.approve(request.id, APPROVER)
    assert store.get(storage, request.id).state == "pending" and connection.runs == []
    service.approve(request.id, SECOND)
    assert store.get(storage, request.id).state == "done" and len(connection.runs) == 1


def test_fifty_concurrent_approve_clicks_execute_exactly_once(setup):
    service, storage, clock, connection, _ = setup
    request = submit_end(service).request
    barrier = threading.Barrier(50)

    def click(index: int) -> str:
        barrier.wait()
        return service.approve(request.id, APPROVER if index % 2 else SECOND)

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(click, range(50)))
    assert len(connection.runs) == 1
    assert store.get(storage, request.id).state == "done"
    assert [e.action for e in audit.recent(storage, 100)].count("execute") == 1


def test_a_crash_while_executing_leaves_unknown_and_never_reruns(setup):
    service, storage, clock, connection, config = setup
    request = submit_end(service).request
    store.add_approval(storage, request.id, APPROVER, clock.now())
    assert store.claim_execution(storage, request.id, clock.now())  # executing stored … then the process dies
    restarted = ApprovalService(storage, config, Roles(), lambda system: connection, clock.now)
    assert [r.id for r in restarted.recover()] == [request.id]
    assert store.get(storage, request.id).state == "unknown"
    assert "already unknown" in restarted.approve(request.id, SECOND)
    assert connection.runs == []


def test_a_failing_command_is_recorded_with_its_message_id(setup):
    service, storage, clock, connection, _ = setup
    gone = dict(TELNET, remote_port=1)  # no such connection: the demo fails like IBM i
    request = service.submit(
        system="DEMO",
        action="end-connection",
        params={},
        summary="End a connection",
        commands=[EndTcpConnection.build(**gone)],
        requester=REQUESTER,
        reason="test",
    ).request
    service.approve(request.id, APPROVER)
    final = store.get(storage, request.id)
    assert final.state == "failed" and final.outcome["message_id"] == "CPF9899"


def test_trust_and_untrust_change_the_stored_trust_list(setup):
    service, storage, clock, connection, _ = setup
    trust = service.submit(
        system="DEMO",
        action="trust",
        params={"network": "210.107.73.0/24"},
        commands=[],
        summary="Trust 210.107.73.0/24",
        requester=REQUESTER,
        reason="vendor",
    ).request
    service.approve(trust.id, APPROVER)
    assert store.trusted_networks(storage, "DEMO") == ["210.107.73.0/24"]
    untrust = service.submit(
        system="DEMO",
        action="untrust",
        params={"network": "210.107.73.0/24"},
        commands=[],
        summary="Untrust 210.107.73.0/24",
        requester=REQUESTER,
        reason="done",
    ).request
    service.approve(untrust.id, APPROVER)
    assert store.trusted_networks(storage, "DEMO") == []
    assert connection.runs == []


def test_a_command_that_times_out_is_unknown_not_failed(setup):
    from bot.ibmi.errors import QueryTimeoutError

    service, storage, clock, connection, _ = setup

    def slow(command) -> None:  # noqa: ANN001
        connection.runs.append(command.to_cl())
        raise QueryTimeoutError("DEMO: the command did not answer within 30s; whether it ran is unknown")

    connection.run_cl = slow
    request = submit_end(service).request
    service.approve(request.id, APPROVER)
    final = store.get(storage, request.id)
    assert final.state == "unknown" and "Verify on the system" in final.outcome["text"]
    assert "already unknown" in service.approve(request.id, SECOND)
    assert len(connection.runs) == 1


def test_an_action_nobody_may_approve_cannot_be_requested(setup):
    from bot.config import ApprovalPolicy

    service, storage, clock, connection, config = setup
    service.config = replace(config, approvals={**config.approvals, "relay-set": ApprovalPolicy(approvers=())})
    submitted = service.submit(
        system="DEMO",
        action="relay-set",
        params={},
        commands=[ChangeSmtpRelay.build("list")],
        summary="Set relay",
        requester=REQUESTER,
        reason="close it",
    )
    assert not submitted.ok and "No one may approve" in submitted.text
    assert store.pending(storage) == []
