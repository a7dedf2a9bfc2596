"""The terminal renderer of an app's page: an :class:`~.views.Explanation` as the labelled
sections of ``microapp explain`` (pure). The order is the order a person asks in: is it up, what is
wrong, what does it cost, what does it break, when will it sleep, what do I run now. Wrapping,
colour and the shell commands' continuations are ``screen``'s."""

from __future__ import annotations

from ..core.lifecycle import timestamp
from .explainpods import ago, worst
from .screen import Line, Section
from .screen import render as layout
from .views import ConditionView, Explanation, NotReadable, Tone

POD_LIMIT = 5


def render(expl: Explanation, width: int, colour: bool) -> str:
    """The explanation as one screen, at most ``width`` columns; ANSI colour only if ``colour``."""
    sections = (
        _status(expl),
        _children(expl),
        _pods(expl),
        _events(expl),
        _cost(expl),
        _policy(expl),
        *((_exposure(expl),) if expl.approval is not None else ()),
        _lifecycle(expl),
        Section("Next", (Line("run", expl.next.command, Tone.INFO, (expl.next.why,), True),)),
    )
    return layout(f"MicroApp {expl.namespace}/{expl.name}", expl.phase, expl.tone, sections, width=width, colour=colour)


def _condition(label: str, cond: ConditionView) -> Line:
    return Line(label, f"{cond.status} ({cond.reason})" + (f": {cond.message}" if cond.message else ""), cond.tone)


def _status(expl: Explanation) -> Section:
    conds = {c.type: c for c in expl.conditions}
    ready = conds.get("Ready")
    lines = [_condition("Ready", ready)] if ready else [Line("Ready", "no Ready condition yet", Tone.WARN)]
    for kind in ("Stalled", "Reconciling"):
        cond = conds.get(kind)
        if cond is not None and cond.status == "True" and (ready is None or cond.message != ready.message):
            lines.append(_condition(kind, cond))
    if expl.observed:
        lines.append(Line("note", expl.observed, Tone.WARN))
    lines += [
        Line(label, value)
        for label, value in (("template", expl.template), ("url", expl.url), ("owner", expl.owner))
        if value
    ]
    return Section("Status", tuple(lines))


def _children(expl: Explanation) -> Section:
    lines = tuple(Line(k.state, k.message, k.tone, k.problems) for k in expl.children)
    return Section(f"Children ({len(expl.children)})", lines or (Line("", "none applied yet"),))


def _pods(expl: Explanation) -> Section:
    if isinstance(expl.pods, NotReadable):
        return Section("Pods", (Line("", expl.pods.message, Tone.WARN),))
    healthy = [p for p in expl.pods if p.tone is Tone.OK and not p.restarts and not p.problems]
    others = worst([p for p in expl.pods if p not in healthy])
    lines = [
        Line(
            "Ready" if p.ready else "Failing" if p.tone is Tone.BAD else "NotReady",
            f"{p.name}: {p.reason + ', ' if p.reason else ''}{p.phase}, {'ready' if p.ready else 'not ready'}, "
            f"{p.restarts} restarts",
            p.tone,
            p.problems,
        )
        for p in others[:POD_LIMIT]
    ]
    if len(others) > POD_LIMIT:
        lines.append(
            Line(
                "",
                f"and {len(others) - POD_LIMIT} more not ready (kubectl get pods -n "
                f"{expl.namespace} -l microapp.dev/name={expl.name})",
            )
        )
    if healthy:
        lines.append(
            Line(
                "Ready",
                f"{len(healthy)} running, ready, never restarted: "
                + ", ".join(p.name for p in healthy[:POD_LIMIT])
                + (f" and {len(healthy) - POD_LIMIT} more" if len(healthy) > POD_LIMIT else ""),
                Tone.OK,
            )
        )
    return Section(f"Pods ({len(expl.pods)})", tuple(lines) or (Line("", "none running"),))


def _events(expl: Explanation) -> Section:
    if isinstance(expl.events, NotReadable):
        return Section("Events", (Line("", expl.events.message, Tone.WARN),))
    lines = [
        Line(
            e.type,
            f"{e.reason} {e.object}, {e.age}"
            + (f" (x{e.count})" if e.count > 1 else "")
            + (f": {e.message}" if e.message else ""),
            Tone.WARN if e.type == "Warning" else Tone.INFO,
        )
        for e in expl.events
    ]
    if expl.events_omitted:
        lines.append(Line("", f"and {expl.events_omitted} more (kubectl get events -n {expl.namespace})"))
    return Section(
        "Events",
        tuple(lines)
        or (Line("", "none about the app, its objects or its Pods (the API server keeps Events for an hour)"),),
    )


def _cost(expl: Explanation) -> Section:
    c = expl.cost
    if c.estimate is None:
        estimate = Line("estimate", "not estimated yet")
    elif c.app_limit is None:
        estimate = Line("estimate", f"{c.estimate} {c.currency}/month; no app limit (spec.budget.monthlyLimit)")
    else:
        share = f", {c.app_share} of" if c.app_share else "; limit"
        estimate = Line(
            "estimate",
            f"{c.estimate} {c.currency}/month{share} the app's limit of {c.app_limit} (spec.budget.monthlyLimit)",
            Tone.BAD if c.over_app_limit else Tone.INFO,
        )
    lines = [estimate, Line("team", c.team_budget, Tone.WARN if isinstance(c.team_figures, NotReadable) else Tone.INFO)]
    if c.within is not None:
        lines.append(_condition("WithinBudget", c.within))
    return Section("Cost", tuple(lines))


def _policy(expl: Explanation) -> Section:
    f = expl.findings
    lines = [Line("finding", v, Tone.BAD) for v in f.violations]
    if f.fix:
        lines.append(Line("fix", f.fix))
    elif f.compliant is not None:
        lines.append(_condition("compliant", f.compliant))
    return Section("Policy", tuple(lines) or (Line("", "not checked yet"),))


def _exposure(expl: Explanation) -> Section:
    """Public exposure: asked (and for which host), approved by whom and when, or rejected and why."""
    a = expl.approval
    assert a is not None
    lines = [Line("state", a.state, a.tone), Line("host", a.host or "(none)")]
    if a.requested_at:
        lines.append(Line("asked at", a.requested_at))
    if a.state == "Approved":
        lines.append(
            Line("approved", f"by {a.approved_by}" + (f" at {a.approved_at}" if a.approved_at else ""), a.tone)
        )
    if a.state == "Rejected" or (a.state == "Waiting" and a.rejected_by):
        earlier = "" if a.state == "Rejected" else " (an earlier request)"
        lines.append(Line("rejected", f"by {a.rejected_by} at {a.rejected_at}{earlier}", Tone.BAD))
        lines.append(Line("reason", a.reason or "(none given)", Tone.BAD))
    if a.state == "Waiting":
        lines.append(Line("next", "a public-exposure approver approves or rejects it in the portal (/approvals)"))
    return Section("Public exposure", tuple(lines))


def _lifecycle(expl: Explanation) -> Section:
    life, now = expl.lifecycle, timestamp(expl.now)
    assert now is not None

    def when(value: str | None, extra: str = "") -> str | None:
        return None if not value else f"{value} ({ago(timestamp(value), now)}{extra})"

    state_tone = Tone.OK if life.state == "Active" else Tone.WARN
    note = f": {life.message}" if life.message and life.message != life.state else ""
    lines = [Line("state", life.state + note, state_tone), Line("rules", life.rules)]
    for label, value in (
        ("last active", when(life.last_activity, f", {life.activity_source}" if life.activity_source else "")),
        ("idle since", when(life.idle_since)),
        ("idles at", when(life.idles_at, " unless used")),
        ("retires at", when(life.retire_at)),
        ("snoozed to", when(life.snooze_until)),
    ):
        if value:
            lines.append(Line(label, value, Tone.WARN if label == "retires at" else Tone.INFO))
    if life.keep_alive:
        lines.append(Line("keep alive", life.keep_alive, Tone.INFO, (life.keep_alive_why,), True))
    else:
        lines.append(Line("keep alive", life.keep_alive_why))
    return Section("Lifecycle", tuple(lines))
