"""Judgements the audit journal checks keep from run to run (bot/checks/audit_journal/memo.py): given again only for
an equal input, forgotten when the entry leaves the window or the settings change."""

from __future__ import annotations

from bot.checks.audit_journal.memo import EntryMemo
from bot.checks.finding import Finding
from bot.checks.memo import SameInput
from bot.ibmi.audit_journal import JournalEntry


def entry(second: int, command: str = "CHGSMTPA ALWRLY(*ALL)") -> JournalEntry:
    return JournalEntry("CD", f"2026-12-03 10:00:{second:02d}.000000", second, values={"COMMAND_STRING": command})


class Counting:
    def __init__(self) -> None:
        self.judged: list[str] = []

    def __call__(self, item: JournalEntry) -> str:
        self.judged.append(item.key)
        return f"judged {item.key}"


def test_an_entry_is_judged_once_while_it_stays_in_the_window() -> None:
    memo: EntryMemo[str] = EntryMemo()
    first, second, third = entry(1), entry(2), entry(3)
    judge = Counting()
    assert memo.each("DEMO", "basis", [first, second], judge) == [f"judged {first.key}", f"judged {second.key}"]
    assert memo.each("DEMO", "basis", [second, third], judge) == [f"judged {second.key}", f"judged {third.key}"]
    assert judge.judged == [first.key, second.key, third.key]  # the second entry was not judged again
    memo.each("DEMO", "basis", [third], judge)
    memo.each("DEMO", "basis", [first, third], judge)  # the first left the window in between: judged again
    assert judge.judged == [first.key, second.key, third.key, first.key]


def test_an_entry_judged_to_nothing_is_not_judged_again() -> None:
    memo: EntryMemo[None] = EntryMemo()
    judged: list[JournalEntry] = []
    kept = entry(1)
    assert memo.each("DEMO", "basis", [kept], judged.append) == [None]
    assert memo.each("DEMO", "basis", [kept, entry(2)], judged.append) == [None, None]
    assert [item.sequence for item in judged] == [1, 2]


def test_other_settings_another_system_or_an_equal_entry_read_again_are_judged_afresh() -> None:
    memo: EntryMemo[str] = EntryMemo()
    kept = entry(1)
    judge = Counting()
    memo.each("DEMO", "basis", [kept], judge)
    memo.each("DEMO", "other basis", [kept], judge)
    memo.each("PROD", "other basis", [kept], judge)
    memo.each("DEMO", "other basis", [entry(1)], judge)  # equal, but another object (read from the database)
    assert judge.judged == [kept.key] * 4


def test_the_last_runs_findings_come_again_only_for_an_equal_input() -> None:
    memo = SameInput()
    calls: list[tuple] = []

    def judged(inputs: tuple) -> list[Finding]:
        def judge() -> list[Finding]:
            calls.append(inputs)
            return [Finding("DEMO", "changes-behind-the-bot", "warning", f"s{len(calls)}", "t")]

        return memo.findings("DEMO", inputs, judge)

    entries = (entry(1), entry(2))
    first = judged((entries, "settings"))
    again = judged(((entry(1), entry(2)), "settings"))  # equal entries, equal settings
    assert again == first and len(calls) == 1
    again.append(Finding("DEMO", "x", "info", "extra", "t"))  # a caller's list is its own
    assert judged((entries, "settings")) == first
    changed = judged((entries, "other settings"))
    new_entry = judged(((*entries, entry(3)), "other settings"))
    assert len(calls) == 3 and changed != first and new_entry != changed
