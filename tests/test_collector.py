"""The bot's process collects garbage in fewer, larger passes: a cycle on a large system makes millions of objects."""

from __future__ import annotations

import gc

from bot.collector import THRESHOLDS
from bot.config import Secrets, load_config
from bot.wiring import build_bot
from tests.test_check_cycle import write_config


def test_building_the_bot_sets_the_collector_thresholds_for_large_cycles(tmp_path):
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        parts = build_bot(load_config(write_config(tmp_path), env={}), Secrets(slack_bot_token="xoxb-test"))
        parts.close()
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] >= 10_000  # every 700 objects, a large cycle walks its heap over and over
    finally:
        gc.set_threshold(*before)
