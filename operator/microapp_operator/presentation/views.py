"""What an app's page shows, as typed frozen data: the view model of ``microapp explain`` and of
the portal's app page (pure, no I/O).

Built once from what the caller read (``explain.build``), then drawn by a renderer: the terminal
(``explaintext`` over ``screen``) or HTML (``html``). The models hold words and numbers only: no
ANSI codes, no wrapping, no shell quoting. A part the reader may not read (a 403) is a
:class:`NotReadable` in place of its data, so the rest still shows. ``Tone`` is the meaning of a
part (fine, needs attention, broken), not a colour: each renderer picks its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NOT_READABLE = "not readable with your permissions"


class Tone(str, Enum):
    OK = "ok"  # ready, True, within a limit
    WARN = "warn"  # progressing, asleep, near a limit, not readable
    BAD = "bad"  # failed, stalled, over a limit
    INFO = "info"  # neutral


@dataclass(frozen=True)
class NotReadable:
    """A read the cluster refused (403): in the inputs, in place of what was not read (``DENIED``);
    in the model, in place of the part that cannot be shown, naming it (``what``)."""

    what: str = ""

    @property
    def message(self) -> str:
        return f"{self.what}: {NOT_READABLE}" if self.what else NOT_READABLE


DENIED = NotReadable()


@dataclass(frozen=True)
class ConditionView:
    """A condition of the MicroApp, with its tone."""

    type: str
    status: str
    reason: str
    message: str
    tone: Tone


@dataclass(frozen=True)
class ChildView:
    """One object of ``status.inventory``: its health (``core.health``) and its abnormal conditions."""

    api_version: str
    kind: str
    name: str
    state: str  # Ready, Progressing, Failed, or NotReadable
    message: str
    tone: Tone
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodView:
    """One Pod as a person needs it: up or not, and why not."""

    name: str
    phase: str
    ready: bool
    restarts: int
    reason: str | None  # the worst thing about it: CrashLoopBackOff, ImagePullBackOff, ...
    problems: tuple[str, ...]  # per container: why it waits or exited (its reason), and its last exit
    owners: tuple[str, ...]  # its ReplicaSet, Job, ... (their Events concern the app too)
    tone: Tone


@dataclass(frozen=True)
class EventView:
    """One Event, with its age at ``now``."""

    type: str  # Warning or Normal
    reason: str
    object: str  # Kind/name
    message: str
    count: int
    at: str | None
    age: str


@dataclass(frozen=True)
class TeamBudgetView:
    """The team's TeamBudget in figures (money as strings in the policy's currency)."""

    team: str
    name: str  # the TeamBudget object
    limit: str
    committed: str | None  # None: not counted yet
    remaining: str | None
    share: str | None  # committed as a share of the limit, e.g. 62%
    enforcement: str  # Deny or Warn
    warn_at_percent: int


@dataclass(frozen=True)
class CostView:
    """The estimate against the app's own limit and the team's TeamBudget."""

    estimate: str | None
    currency: str
    app_limit: str | None
    app_share: str | None  # the estimate as a share of the app's limit, e.g. 65%
    over_app_limit: bool
    team: str | None
    team_budget: str  # one sentence: committed of limit, or why there is none
    team_figures: TeamBudgetView | NotReadable | None  # None: no team, or the team has no TeamBudget
    within: ConditionView | None
    tone: Tone


@dataclass(frozen=True)
class FindingsView:
    """Policy findings (each names its field) and the way to fix and re-check them."""

    violations: tuple[str, ...]
    compliant: ConditionView | None
    fix: str | None
    tone: Tone


@dataclass(frozen=True)
class Action:
    """A lifecycle change a person can make: one annotation on the MicroApp. The CLI prints it as
    a kubectl command; the portal writes the same annotation as the user (its button: ``label``)."""

    name: str  # keep-alive, snooze, wake, restore
    label: str  # Keep alive, Snooze, Wake, Restore
    annotation: str
    value: str | None  # what to write (the time of the explanation); None: the person picks a time
    command: str  # the same change with kubectl (TIME where the person picks the value)
    why: str


@dataclass(frozen=True)
class LifecycleView:
    """The lifecycle dates (``core.lifecycle``'s), the effective rules, and what changes them."""

    state: str  # Active, Idle, Retiring, Retired
    rules: str  # lifecycle.explain of the effective settings
    last_activity: str | None
    activity_source: str | None
    idle_since: str | None
    idles_at: str | None
    retire_at: str | None
    next_check: str | None
    snooze_until: str | None
    message: str | None
    keep_alive: str | None  # the command that keeps (or brings) it alive, if it needs one
    keep_alive_why: str
    actions: tuple[Action, ...] = ()  # every change that applies in this state, the main one first


@dataclass(frozen=True)
class ApprovalView:
    """Public exposure: asked, approved (by whom, when) or rejected (by whom, when, why); ``core.approval``."""

    state: str  # Waiting, Approved, Rejected
    host: str | None
    requested_at: str | None
    approved_by: str | None
    approved_at: str | None
    rejected_by: str | None
    rejected_at: str | None
    reason: str | None
    sentence: str
    tone: Tone


@dataclass(frozen=True)
class NextStep:
    """A command to run now, and why that one; ``action``: the lifecycle action that does the same."""

    command: str
    why: str
    action: str | None = None


@dataclass(frozen=True)
class Explanation:
    """Everything an app's page shows; ``explain.as_data`` is ``microapp explain -o json``."""

    namespace: str
    name: str
    phase: str
    tone: Tone
    observed: str | None  # a note when the status is not of the current generation
    owner: str | None
    template: str | None
    url: str | None
    conditions: tuple[ConditionView, ...]
    children: tuple[ChildView, ...]
    pods: tuple[PodView, ...] | NotReadable
    events: tuple[EventView, ...] | NotReadable
    events_omitted: int
    cost: CostView
    findings: FindingsView
    lifecycle: LifecycleView
    next: NextStep
    unreadable: tuple[str, ...]
    now: str
    approval: ApprovalView | None = None  # None: public exposure never asked for
