"""The data sources the checks share, each named and read through the one SQL catalogue (bot/ibmi/sql.py).

A check names the sources it needs; a cycle reads each needed source once and hands the reading to
every check that needs it. A check may also bring a source of its own (smtp-relay's probe).
"""

from __future__ import annotations

from bot.checks.definition import Source, SourceContext
from bot.ibmi import sql
from bot.ibmi.rows import ActiveJob, ConnectionJob, NetstatConnection, OutputQueue, SmtpListReading, UserProfile


def _netstat(context: SourceContext) -> list[NetstatConnection]:
    return sql.read_tcp_connections(context.connection)


def _netstat_jobs(context: SourceContext) -> list[ConnectionJob]:
    return sql.read_connection_jobs(context.connection)


def _smtp_jobs(context: SourceContext) -> tuple[ActiveJob, ...]:
    """The SMTP jobs (not readable when the profile may not list them: checks read it as optional)."""
    return tuple(sql.read_smtp_jobs(context.connection))


def _smtp_lists(context: SourceContext) -> SmtpListReading:
    return sql.read_smtp_lists(context.connection)


def _splctl_holders(context: SourceContext) -> list[UserProfile]:
    return sql.read_special_authority_holders(context.connection, "*SPLCTL")


def _jobctl_holders(context: SourceContext) -> list[UserProfile]:
    return sql.read_special_authority_holders(context.connection, "*JOBCTL")


def _output_queues(context: SourceContext) -> list[OutputQueue]:
    return sql.read_output_queues(context.connection)


# On IBM i 7.6 each refused NETSTAT read is an audit-journal entry: after a refusal, ask again hourly.
AUDITED_REFUSAL_RETRY = 3600.0
NETSTAT_SERVICE = "QSYS2.NETSTAT_INFO"
NETSTAT = Source("netstat", _netstat, AUDITED_REFUSAL_RETRY, service=NETSTAT_SERVICE)  # TCP connections
NETSTAT_JOBS = Source("netstat-jobs", _netstat_jobs, AUDITED_REFUSAL_RETRY)  # QSYS2.NETSTAT_JOB_INFO
SMTP_JOBS = Source("smtp-jobs", _smtp_jobs)  # QSYS2.ACTIVE_JOB_INFO, QTSMTP*
SMTP_LISTS = Source("smtp-lists", _smtp_lists)  # QUSRSYS/QATMADRLST
SPLCTL_HOLDERS = Source("splctl-holders", _splctl_holders)  # USER_INFO and GROUP_PROFILE_ENTRIES
JOBCTL_HOLDERS = Source("jobctl-holders", _jobctl_holders)
OUTPUT_QUEUES = Source("output-queues", _output_queues)  # OUTPUT_QUEUE_INFO and OBJECT_PRIVILEGES
