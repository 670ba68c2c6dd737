"""Who may view, request and approve: the [roles] lists and the approval policies, with @usergroup handles
resolved through Slack.

A role list holds Slack user ids (U…/W…) and user group handles (@security-team). A handle is resolved in
two Web API calls, both needing the `usergroups:read` scope: `usergroups.list` maps handles to user group
ids (one call for every handle), then `usergroups.users.list` lists one group's members. Each resolution is
cached for `ttl` seconds.

Resolution fails closed: when Slack answers with an error, cannot be reached, or there is no client, or no
user group has the handle, the handle stands for no one until the next attempt (after `retry` seconds),
and a warning is logged at most once per `ttl` for that handle. A role is never granted because Slack was
unreachable; an earlier resolution is not reused once it has expired.

A resolution blocks for a Web API call (and the client's retries), so call these methods off Slack's
3-second ack path, or `prefetch()` on a schedule shorter than `ttl` to keep the cache warm.

Decisions on change requests ask `is_approver_now` and `approvers_now`: handles resolved again, so someone
removed from a user group since the last resolution no longer counts. A resolution younger than
`FRESH_WITHIN` seconds is reused, which keeps `usergroups.list` and `usergroups.users.list` (Slack's
Tier 2: about 20 calls a minute each) within their rate limits however often approvers click.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.config import APPROVAL_ACTIONS, EVERYONE, ApprovalPolicy, RoleSettings

log = logging.getLogger(__name__)

DEFAULT_TTL = 300.0
DEFAULT_RETRY = 30.0
FRESH_WITHIN = 10.0  # seconds a resolution still counts as "now" for a decision
_DIRECTORY = "usergroups.list"  # the cache key of the handle → user group id map (handles start with @)
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")  # as bot.config accepts them


@dataclass(frozen=True)
class _Entry:
    value: object  # frozenset[str] of members, dict[str, str] of handle → user group id, or _Failure
    expires: float
    resolved_at: float


@dataclass(frozen=True)
class _Failure:
    why: str


class Roles:
    """Answers "may this user …?" for the handlers. Thread-safe.

    `settings`: the [roles] lists. `policies`: the approval policy of each action (Config.approvals); an
    action of APPROVAL_ACTIONS missing from it falls back to [roles].approvers. `client`: a WebClient with
    the bot token, or None (then handles resolve to no one). `ttl`: seconds a resolved handle is reused.
    `retry`: seconds before a failed resolution is tried again (default: the lesser of ttl and 30 s).
    """

    def __init__(
        self,
        settings: RoleSettings,
        policies: Mapping[str, ApprovalPolicy],
        client: WebClient | None,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        retry: float | None = None,
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be more than 0 seconds, not {ttl!r}")
        self.settings = settings
        self.policies = dict(policies)
        self.client = client
        self.ttl = float(ttl)
        self.retry = min(self.ttl, DEFAULT_RETRY) if retry is None else float(retry)
        self._clock = clock
        self._lock = threading.Lock()  # guards the dictionaries below; never held during a Web API call
        self._cache: dict[str, _Entry] = {}  # "@handle" or _DIRECTORY → entry
        self._fetching: dict[str, threading.Lock] = {}  # one lookup at a time per key
        self._warned: dict[str, float] = {}  # "@handle" → when its last warning was logged

    # --- the questions ------------------------------------------------------------------------------

    def is_viewer(self, user_id: str) -> bool:
        """May look at status, connections and alerts: the viewers, operators and approvers ("*" among the
        viewers: everyone). Empty viewers: operators and approvers only."""
        if EVERYONE in self.settings.viewers:
            return _is_user_id(user_id)
        return self._listed(user_id, (*self.settings.viewers, *self.operator_entries()))

    def is_operator(self, user_id: str) -> bool:
        """May request changes: the operators, and every approver (of [roles] or of any action's policy)."""
        return self._listed(user_id, self.operator_entries())

    def is_approver(self, user_id: str, action: str | None = None) -> bool:
        """May decide requests for `action` (its policy's approvers); without an action, [roles].approvers.

        Whether the user is the requester (no self-approval) is for the caller to check.
        """
        return self._listed(user_id, self.approver_entries(action))

    def is_approver_now(self, user_id: str, action: str | None = None) -> bool:
        """`is_approver` with its @handles resolved again (unless resolved within `FRESH_WITHIN` seconds)."""
        return self._listed(user_id, self.approver_entries(action), fresh=True)

    def approvers_now(self, action: str | None = None) -> frozenset[str]:
        """Every user who may decide `action` as Slack answers now (see `is_approver_now`)."""
        return self.members(self.approver_entries(action), fresh=True)

    def members(self, entries: Sequence[str], fresh: bool = False) -> frozenset[str]:
        """The user ids of `entries`, each @handle replaced by its user group's members (no one if unresolved).
        `fresh`: handles resolved again unless resolved within `FRESH_WITHIN` seconds."""
        found: set[str] = set()
        for entry in entries:
            if entry.startswith("@"):
                found |= self._resolve(entry, fresh)
            elif _is_user_id(entry):
                found.add(entry)
        return frozenset(found)

    # --- the lists ----------------------------------------------------------------------------------

    def approver_entries(self, action: str | None = None) -> tuple[str, ...]:
        """The configured approvers of `action` (user ids and handles, unresolved). KeyError for an unknown action."""
        if action is None:
            return self.settings.approvers
        policy = self.policies.get(action)
        if policy is not None:
            return policy.approvers
        if action in APPROVAL_ACTIONS:
            return self.settings.approvers
        raise KeyError(action)

    def operator_entries(self) -> tuple[str, ...]:
        entries = [*self.settings.operators, *self.settings.approvers]
        for policy in self.policies.values():
            entries.extend(policy.approvers)
        return tuple(dict.fromkeys(entries))

    def handles(self) -> tuple[str, ...]:
        """Every @handle named by [roles] or a policy, once."""
        every = (*self.settings.viewers, *self.operator_entries())
        return tuple(dict.fromkeys(e for e in every if e.startswith("@")))

    def prefetch(self) -> None:
        """Resolve every handle now (those still cached are left alone), so later checks need no Web API call."""
        for handle in self.handles():
            self._resolve(handle)

    def forget(self) -> None:
        """Drop every cached resolution; the next check asks Slack again."""
        with self._lock:
            self._cache.clear()

    # --- resolution ---------------------------------------------------------------------------------

    def _listed(self, user_id: str, entries: Iterable[str], fresh: bool = False) -> bool:
        if not _is_user_id(user_id):
            return False  # a handle or an empty string is never a user
        entries = tuple(entries)
        if user_id in entries:
            return True  # listed by id: no Web API call
        return any(user_id in self._resolve(entry, fresh) for entry in entries if entry.startswith("@"))

    def _resolve(self, handle: str, fresh: bool = False) -> frozenset[str]:
        members = self._cached(handle, lambda: self._lookup(handle, fresh), fresh)
        assert isinstance(members, frozenset)
        return members

    def _cached(self, key: str, load: Callable[[], tuple[object, bool]], fresh: bool = False) -> object:
        """The cached value of `key`, or `load()` → (value, ok) cached for ttl (ok) or retry (failed).
        `fresh`: a value resolved more than `FRESH_WITHIN` seconds ago is loaded again."""
        value = self._current(key, fresh)
        if value is not None:
            return value
        with self._lock:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:  # threads asking for the same key wait for one lookup instead of each making it
            value = self._current(key, fresh)
            if value is not None:
                return value
            value, ok = load()
            now = self._clock()
            with self._lock:
                self._cache[key] = _Entry(value, now + (self.ttl if ok else self.retry), now)
            return value

    def _current(self, key: str, fresh: bool) -> object | None:
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key)
        if entry is None or now >= entry.expires or (fresh and now - entry.resolved_at > FRESH_WITHIN):
            return None
        return entry.value

    def _lookup(self, handle: str, fresh: bool = False) -> tuple[frozenset[str], bool]:
        """(members, True), or (no one, False) after warning why not."""
        if self.client is None:
            self._warn(handle, "there is no Slack client")
            return frozenset(), False
        directory = self._cached(_DIRECTORY, self._load_directory, fresh)
        if isinstance(directory, _Failure):
            self._warn(handle, f"usergroups.list failed: {directory.why}")
            return frozenset(), False
        assert isinstance(directory, dict)
        group_id = directory.get(handle[1:].lower())
        if group_id is None:
            self._warn(handle, "no enabled user group has this handle")
            return frozenset(), False
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
            users = response.get("users")
            if not isinstance(users, list):
                raise ValueError("the answer has no list of users")
        except Exception as error:  # any failure means no one, never a grant
            self._warn(handle, f"usergroups.users.list failed: {_describe(error)}")
            return frozenset(), False
        return frozenset(u for u in users if isinstance(u, str) and _is_user_id(u)), True

    def _load_directory(self) -> tuple[dict[str, str] | _Failure, bool]:
        """handle (without @, lower case) → user group id of every enabled user group, from usergroups.list."""
        assert self.client is not None
        try:
            response = self.client.usergroups_list()
            groups = response.get("usergroups")
            if not isinstance(groups, list):
                raise ValueError("the answer has no list of user groups")
        except Exception as error:  # any failure means no one, never a grant
            return _Failure(_describe(error)), False
        directory: dict[str, str] = {}
        for group in groups:
            if not isinstance(group, dict) or group.get("date_delete"):  # disabled groups grant nothing
                continue
            handle, group_id = group.get("handle"), group.get("id")
            if isinstance(handle, str) and isinstance(group_id, str):
                directory[handle.lower()] = group_id
        return directory, True

    def _warn(self, handle: str, why: str) -> None:
        now = self._clock()
        with self._lock:
            last = self._warned.get(handle)
            if last is not None and now - last < self.ttl:
                return
            self._warned[handle] = now
        log.warning("user group %s stands for no one (no role is granted through it): %s", handle, why)


def _is_user_id(value: object) -> bool:
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


def _describe(error: Exception) -> str:
    response = getattr(error, "response", None)
    if response is not None:
        try:
            return str(response["error"])
        except (KeyError, TypeError):
            pass
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
