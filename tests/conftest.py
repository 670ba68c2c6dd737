from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DemoSettings, SystemSettings
from bot.ibmi_settings import open_system

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def demo_settings(
    folder: Path,
    name: str = "DEMO",
    latency: float = 0.0,
    query_timeout: float = 30.0,
    traffic: bool = False,
    traffic_interval: float = 60.0,
    hang: bool = False,
    statement_deadline: float | None = None,
    command_deadline: float | None = None,
) -> SystemSettings:
    import ipaddress

    return SystemSettings(
        name=name,
        connection="demo",
        trusted=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.0.0/16")),
        query_timeout=query_timeout,
        statement_deadline=statement_deadline,
        command_deadline=command_deadline,
        demo=DemoSettings(path=folder, latency=latency, hang=hang, traffic=traffic, traffic_interval=traffic_interval),
    )


@pytest.fixture
def demo_system(tmp_path: Path) -> SystemSettings:
    return demo_settings(tmp_path / "demo-ibmi")


@pytest.fixture
def demo_connection(demo_system: SystemSettings):
    connection = open_system(demo_system)
    yield connection
    connection.close()
