"""What a one-off check cycle in the terminal needs (`ibmi-warden check`, `demo` without Slack): storage, the
systems and a check runner whose findings are returned, not announced. Nothing of Slack is imported."""

from __future__ import annotations

from dataclasses import dataclass

from bot import __version__
from bot.check_runner import CheckRunner, NotAnnounced
from bot.config import Config
from bot.systems import Systems
from storage import Storage, open_database


@dataclass(frozen=True)
class Checker:
    storage: Storage
    systems: Systems
    checks: CheckRunner

    def close(self) -> None:
        self.systems.close()
        self.storage.close()


def build_checker(config: Config) -> Checker:
    storage = open_database(config.storage.path, __version__)
    systems = Systems(config, storage)
    return Checker(storage, systems, CheckRunner(config, storage, systems, NotAnnounced()))
