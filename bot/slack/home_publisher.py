"""The App Home republished when the bot's state changes, on a worker of its own: never on the pool that
answers commands, however many people opened the tab or however slow Slack answers.

A burst of changes coalesces: a round starts `settle` seconds after the change that asked for it, so the
changes of a burst (a check cycle, a request and its approval) make one round; changes arriving while a round
publishes make one more; and a round sends a user a view only when it differs from the last one sent to them.
Only users who opened the tab and may see the systems (viewers, operators, approvers: `Roles.is_viewer`, asked
at each round) are sent one."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # how long a round waits for the rest of a burst of changes


class HomePublisher:
    def __init__(
        self,
        client: WebClient,
        view: Callable[[str], dict[str, Any]],
        may_see: Callable[[str], bool],
        settle: float = SETTLE_SECONDS,
        pause: Callable[[float], object] | None = None,
    ) -> None:
        self.client = client
        self.view = view  # the Home view of one user
        self.may_see = may_see
        self.settle = settle
        self._stopping = threading.Event()
        self.pause = pause or self._stopping.wait  # waits `settle` seconds, ended early by stop (tests: a gate)
        self._lock = threading.Lock()
        self._users: set[str] = set()
        self._sent: dict[str, str] = {}  # user → digest of the view last published by a round
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    def opened(self, user: str) -> None:
        """The user opened the tab (the opening answer publishes it): republish to them from now on."""
        with self._lock:
            self._users.add(user)
            self._sent.pop(user, None)  # what they see now came from the opening, not from a round
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="home-publisher", daemon=True)
                self._thread.start()

    def changed(self) -> None:
        """The state the Home shows changed (a StateChanges subscriber): a round soon, one for a burst."""
        with self._lock:
            if not self._users:
                return
            self._idle.clear()
            self._wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no round runs or is due; False if one still does after `timeout` seconds."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopping.set()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the App Home republishing is still waiting for Slack at stop; left behind")

    def publish_round(self) -> int:
        """Publish to each user who may see the Home and whose view changed; how many were published."""
        with self._lock:
            users = sorted(self._users)
        published = 0
        for user in users:
            if self._stopping.is_set():
                break
            if not self.may_see(user):
                continue
            view = self.view(user)
            digest = hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
            with self._lock:
                if self._sent.get(user) == digest:
                    continue
            try:
                self.client.views_publish(user_id=user, view=view)
            except Exception:
                log.warning("republishing the Home tab for %s failed", user, exc_info=True)
                continue
            with self._lock:
                self._sent[user] = digest
            published += 1
        return published

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if not self._stopping.is_set():
                self.pause(self.settle)  # the rest of the burst joins this round
            if self._stopping.is_set():
                self._idle.set()
                return
            self._wake.clear()
            try:
                self.publish_round()
            except Exception:
                log.exception("republishing the Home tab failed; the next change tries again")
            with self._lock:
                if not self._wake.is_set():
                    self._idle.set()
