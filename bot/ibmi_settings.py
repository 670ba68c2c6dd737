"""From a configured system to what bot.ibmi needs to reach it: ConnectionSettings, with the credentials
read from the environment variables the system names."""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.config import SystemSettings, system_credentials
from bot.ibmi.access import ConnectionSettings, DemoOptions, SystemConnection
from bot.ibmi.drivers import system_connection


def connection_settings(system: SystemSettings, env: Mapping[str, str] = os.environ) -> ConnectionSettings:
    """Raises ConfigError, naming the variable, when a variable the system names is unset."""
    if system.is_demo:
        demo = system.demo
        return ConnectionSettings(
            name=system.name,
            driver="demo",
            login_timeout=system.login_timeout,
            query_timeout=system.query_timeout,
            statement_deadline=system.statement_deadline,
            command_deadline=system.command_deadline,
            demo=None
            if demo is None
            else DemoOptions(
                path=demo.path,
                latency=demo.latency,
                hang=demo.hang,
                traffic_interval=demo.traffic_interval if demo.traffic else None,
                seed=demo.seed,
                missing_authorities=demo.missing_authorities,
                release=demo.release,
                fail_statements=demo.fail_statements,
            ),
        )
    user, password = system_credentials(system, env)
    return ConnectionSettings(
        name=system.name,
        driver=system.driver,
        connection_string=system.connection,
        user=user,
        password=password,
        login_timeout=system.login_timeout,
        query_timeout=system.query_timeout,
        statement_deadline=system.statement_deadline,
        command_deadline=system.command_deadline,
        ca_file=system.ca_file,
    )


def open_system(system: SystemSettings, env: Mapping[str, str] = os.environ) -> SystemConnection:
    """The bot's connection to a configured system (it connects on first use)."""
    return system_connection(connection_settings(system, env))
