"""`microapp explain`: the explanation built from plain dicts, its screen and its JSON.

Each situation is a MicroApp as the operator writes its status, with the children, Pods,
Events and TeamBudgets the cluster would hold; the tests read the screen a person reads."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from microapp_operator.presentation import explain, explaintext, screen
from microapp_operator.presentation.screen import Line
from microapp_operator.presentation.views import NotReadable, Tone
from tests.factories import microapp

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STAMP = "2026-03-01T12:00:00Z"
HANG = " " * 15  # where a label's text begins
DEPLOYMENT = ("apps/v1", "Deployment", "shop")
SERVICE = ("v1", "Service", "shop")


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-02-28T12:00:00Z",
    }


def app(
    *,
    phase: str = "Running",
    conditions: list[dict[str, Any]] | None = None,
    inventory: bool = True,
    spec: dict[str, Any] | None = None,
    name: str = "shop",
    namespace: str = "team-finance",
    **status: Any,
) -> dict[str, Any]:
    st = {
        "observedGeneration": 2,
        "phase": phase,
        "selector": f"microapp.dev/name={name}",
        "url": f"http://{name}.{namespace}.svc.cluster.local",
        "template": {"name": "web-service", "version": "1.0.0", "latest": "1.1.0"},
        "cost": {"estimatedMonthly": "13.08", "currency": "USD"},
        "lifecycle": {"lastActivity": "2026-02-28T12:00:00Z", "activitySource": "created"},
        "inventory": [{"apiVersion": a, "kind": k, "name": n} for a, k, n in (DEPLOYMENT, SERVICE)]
        if inventory
        else None,
        "conditions": conditions
        if conditions is not None
        else [
            cond("Ready", "True", "Available", "Deployment shop: 2 of 2 Pods available"),
            cond("PolicyCompliant", "True", "Compliant", "complies with PlatformPolicy default"),
            cond(
                "WithinBudget",
                "True",
                "WithinBudget",
                "estimated 13.08 USD/month, within team finance's budget of 500.00",
            ),
            cond("Idle", "False", "Active", "in use"),
        ],
    }
    st.update(status)
    return microapp(
        name,
        namespace,
        owner="alice@example.com",
        generation=2,
        status={k: v for k, v in st.items() if v is not None},
        **{
            "image": "registry.internal/finance/shop:1.0",
            "replicas": 2,
            "budget": {"monthlyLimit": "20"},
            **(spec or {}),
        },
    )


def deployment(available: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": "shop", "generation": 1},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 1,
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": available,
            "conditions": [
                cond(
                    "Available",
                    "True" if available == 2 else "False",
                    "MinimumReplicas",
                    "Deployment does not have minimum availability." if available < 2 else "",
                )
            ],
        },
    }


def pod(name: str, *, ready: bool = True, waiting: str | None = None, restarts: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": "2026-03-01T11:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": f"back-off 5m0s restarting failed container=app pod={name}"}}
    container = {"name": "app", "restartCount": restarts, "state": state}
    if restarts:
        container["lastState"] = {
            "terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-03-01T11:58:00Z"}
        }
    return {
        "metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet", "name": "shop-7d9c"}]},
        "status": {
            "phase": "Running",
            "conditions": [cond("Ready", "True" if ready else "False", "")],
            "containerStatuses": [container],
        },
    }


def event(
    obj: str,
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    at: str = "2026-03-01T11:50:00Z",
    kind: str = "MicroApp",
    count: int = 1,
    uid: str | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid or f"{obj}-{reason}-{at}"},
        "type": type_,
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
        "count": count,
        "involvedObject": {"kind": kind, "name": obj},
    }


BUDGETS = [
    {
        "metadata": {"name": "finance"},
        "spec": {"team": "finance", "monthlyLimit": "500", "enforcement": "Deny"},
        "status": {"committedMonthly": "312.10", "remaining": "187.90"},
    }
]
POLICY = {"lifecycle": {"idleAfter": "14d", "retireAfter": "30d"}}


def build(obj: dict[str, Any], **parts: Any) -> explain.Explanation:
    inputs: dict[str, Any] = {
        "children": {DEPLOYMENT: deployment(), SERVICE: {"metadata": {"name": "shop"}}},
        "pods": [pod("shop-7d9c-a"), pod("shop-7d9c-b")],
        "events": [],
        "budgets": BUDGETS,
        "policy": POLICY,
    }
    inputs.update(parts)
    return explain.build(obj, now=NOW, **inputs)


def flat(out: str) -> str:
    """The screen with wrapped lines joined again (continuations begin at the text column)."""
    return re.sub(r"\n {15}(?:  )?(?=[^ -])", " ", out)


def screen_of(expl: explain.Explanation, width: int = 80) -> str:
    return explaintext.render(expl, width=width, colour=False)


def test_a_ready_app_says_so_child_by_child_with_cost_lifecycle_and_next_command() -> None:
    out = screen_of(build(app(), events=[event("shop", "Ready", "all objects ready")]))
    assert out.startswith(
        "MicroApp team-finance/shop: Running\nStatus\n"
        "  Ready        True (Available): Deployment shop: 2 of 2 Pods available\n"
        "  template     web-service 1.0.0, newest 1.1.0 (spec.template web-service@^1)\n"
    )
    assert "Children (2)\n  Ready        Deployment shop: 2 of 2 Pods available\n  Ready        Service shop\n" in out
    assert "Pods (2)\n  Ready        2 running, ready, never restarted: shop-7d9c-a, shop-7d9c-b\n" in out
    assert "Events\n  Normal       Ready MicroApp/shop, 10m ago: all objects ready\n" in out
    assert (
        "  estimate     13.08 USD/month, 65% of the app's limit of 20.00\n               (spec.budget.monthlyLimit)\n"
    ) in out
    assert (
        "  team         finance: 312.10 of 500.00 USD/month committed (62%), 187.90 left\n"
        "               (TeamBudget finance: enforcement Deny, warning at 80%)\n"
    ) in out
    assert "  compliant    True (Compliant): complies with PlatformPolicy default\n" in out
    assert (
        "  rules        idled after 14d without activity, retired 30d later (Archive),\n"
        "               notice 3d ahead\n"
        "  last active  2026-02-28T12:00:00Z (1d ago, created)\n"
        "  idles at     2026-03-14T12:00:00Z (in 13d unless used)\n"
        "  keep alive   kubectl annotate microapp shop -n team-finance \\\n"
        f"               microapp.dev/last-activity={STAMP} --overwrite\n"
    ) in out
    assert out.endswith(
        "Next\n  run          microapp diff FILE\n"
        "               - before your next kubectl apply: what it would change in the\n"
        "                 cluster\n"
    )


def test_ready_app_as_data() -> None:
    data = explain.as_data(build(app()))
    assert json.loads(json.dumps(data)) == data
    assert (data["phase"], data["tone"], data["next"]) == (
        "Running",
        "ok",
        {
            "command": "microapp diff FILE",
            "why": "before your next kubectl apply: what it would change in the cluster",
            "action": None,
        },
    )
    assert data["children"][0] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "shop",
        "state": "Ready",
        "message": "Deployment shop: 2 of 2 Pods available",
        "tone": "ok",
        "problems": [],
    }
    assert data["cost"]["estimate"] == "13.08" and data["cost"]["appLimit"] == "20.00"
    assert data["cost"]["appShare"] == "65%" and data["cost"]["overAppLimit"] is False
    assert data["lifecycle"]["keepAlive"] == (
        f"kubectl annotate microapp shop -n team-finance microapp.dev/last-activity={STAMP} --overwrite"
    )
    assert data["lifecycle"]["idlesAt"] == "2026-03-14T12:00:00Z"
    assert [(a["name"], a["label"], a["annotation"], a["value"]) for a in data["lifecycle"]["actions"]] == [
        ("keep-alive", "Keep alive", "microapp.dev/last-activity", STAMP),
        ("snooze", "Snooze", "microapp.dev/snooze-until", None),
    ]
    assert data["cost"]["teamFigures"] == {
        "team": "finance",
        "name": "finance",
        "limit": "500.00",
        "committed": "312.10",
        "remaining": "187.90",
        "share": "62%",
        "enforcement": "Deny",
        "warnAtPercent": 80,
    }
    assert [p["name"] for p in data["pods"]] == ["shop-7d9c-a", "shop-7d9c-b"] and data["unreadable"] == []


STALLED = {
    "template-not-found": (
        "TemplateNotFound",
        "spec.template: no non-deprecated version of 'nope' matches; available templates: web-service, worker",
        "microapp catalog",
        "spec.template names no template version of the catalog",
    ),
    "bad-parameter": (
        "InvalidParameters",
        "spec.parameters.autoscale.max: -1 is less than the minimum of 1",
        "microapp validate FILE",
        "fix the field named above in your MicroApp file",
    ),
}


@pytest.mark.parametrize("reason,message,command,why", STALLED.values(), ids=STALLED.keys())
def test_a_stalled_app_names_the_field_and_the_fix(reason: str, message: str, command: str, why: str) -> None:
    obj = app(
        phase="Failed",
        inventory=False,
        conditions=[cond("Ready", "False", reason, message), cond("Stalled", "True", reason, message)],
        template=None,
        url=None,
    )
    expl = build(obj, children={}, pods=[])
    out = screen_of(expl)
    assert out.startswith("MicroApp team-finance/shop: Failed\n")
    assert f"  Ready        False ({reason}): {message}\n" in flat(out)
    assert "Stalled" not in out  # Stalled says what Ready says: once is enough
    assert f"Children (0)\n{HANG}none applied yet\n" in out and f"Pods (0)\n{HANG}none running\n" in out
    assert f"Next\n  run          {command}\n               - {why}" in out
    assert expl.tone is Tone.BAD and expl.next.command == command


def test_held_over_the_team_budget_shows_both_budgets_and_how_to_fit() -> None:
    note = "team finance is over its budget: 526.17 of 500.00 USD/month committed"
    obj = app(
        phase="Pending",
        inventory=False,
        cost={"estimatedMonthly": "26.17", "currency": "USD"},
        conditions=[
            cond("Ready", "False", "OverBudget", f"not rolled out: {note}"),
            cond("PolicyCompliant", "True", "Compliant", "complies with PlatformPolicy default"),
            cond("WithinBudget", "False", "OverBudget", note),
        ],
    )
    over = [{**BUDGETS[0], "status": {"committedMonthly": "526.17", "remaining": "-26.17"}}]
    expl = build(obj, children={}, pods=[], budgets=over)
    out = screen_of(expl)
    assert (
        "  Ready        False (OverBudget): not rolled out: team finance is over its\n"
        f"{HANG}budget: 526.17 of 500.00 USD/month committed\n"
    ) in out
    assert "  estimate     26.17 USD/month, 131% of the app's limit of 20.00" in out
    assert "  team         finance: 526.17 of 500.00 USD/month committed (105%), -26.17 left" in out
    assert "  WithinBudget False (OverBudget): team finance is over its budget: 526.17 of" in out
    assert expl.next.command == "microapp estimate FILE"
    assert "lower spec.replicas or spec.resources, or raise spec.budget.monthlyLimit" in expl.next.why
    data = explain.as_data(expl)
    assert data["cost"]["overAppLimit"] is True and data["cost"]["tone"] == "bad"


def test_a_crash_looping_pod_with_its_warning_event_points_at_its_logs() -> None:
    obj = app(
        conditions=[
            cond("Ready", "False", "Progressing", "Deployment shop: rolling out, 1 of 2 Pods available"),
            cond("Reconciling", "True", "Progressing", "Deployment shop: rolling out, 1 of 2 Pods available"),
        ]
    )
    events = [
        event("shop", "Ready", "all objects ready", at="2026-03-01T11:00:00Z"),
        event(
            "shop-7d9c-b",
            "BackOff",
            "Back-off restarting failed container app",
            type_="Warning",
            kind="Pod",
            count=12,
            at="2026-03-01T11:59:00Z",
        ),
        event("someone-else", "BackOff", "not about this app", type_="Warning", kind="Pod"),
    ]
    expl = build(
        obj,
        children={DEPLOYMENT: deployment(available=1), SERVICE: {"metadata": {"name": "shop"}}},
        pods=[pod("shop-7d9c-a"), pod("shop-7d9c-b", ready=False, waiting="CrashLoopBackOff", restarts=12)],
        events=events,
    )
    out = screen_of(expl)
    assert "  Progressing  Deployment shop: rolling out, 1 of 2 Pods available\n" in out
    assert (
        f"{HANG}- Available=False MinimumReplicas: Deployment does not have\n{HANG}  minimum availability.\n"
    ) in out
    assert (
        "Pods (2)\n  Failing      shop-7d9c-b: CrashLoopBackOff, Running, not ready, 12 restarts\n"
        f"{HANG}- container app: CrashLoopBackOff: back-off 5m0s restarting\n"
    ) in out
    assert "  Ready        1 running, ready, never restarted: shop-7d9c-a\n" in out
    assert "the last run ended 2m ago: Error (exit code 1)" in flat(out)
    assert (
        "Events\n  Warning      BackOff Pod/shop-7d9c-b, 1m ago (x12): Back-off restarting failed\n"
        "               container app\n  Normal       Ready MicroApp/shop, 1h ago: all objects ready\n"
    ) in out
    assert "not about this app" not in out
    assert (expl.next.command, expl.next.why) == (
        "kubectl logs -n team-finance shop-7d9c-b --previous",
        "Pod shop-7d9c-b is CrashLoopBackOff: the previous run's log says why",
    )


def test_events_warnings_first_newest_first_at_most_five() -> None:
    events = [event("shop", f"R{i}", "m", at=f"2026-03-01T11:{i:02d}:00Z") for i in range(8)]
    events.append(event("shop", "Old", "w", type_="Warning", at="2026-03-01T10:00:00Z"))
    expl = build(app(), events=events + events[:2])  # the same Event twice (two name queries) counts once
    assert not isinstance(expl.events, NotReadable)
    assert [e.reason for e in expl.events] == ["Old", "R7", "R6", "R5", "R4"]
    assert expl.events_omitted == 4
    assert "  and 4 more (kubectl get events -n team-finance)\n" in screen_of(expl)


def test_an_idle_app_shows_its_dates_and_the_wake_command() -> None:
    obj = app(
        phase="Retiring",
        conditions=[
            cond(
                "Ready",
                "True",
                "Retiring",
                "asleep since 2026-02-01T12:00:00Z, retires at 2026-03-03T12:00:00Z unless used",
            ),
            cond("Idle", "True", "Retiring", "asleep"),
        ],
        lifecycle={
            "lastActivity": "2026-01-18T12:00:00Z",
            "activitySource": "traffic",
            "idleSince": "2026-02-01T12:00:00Z",
            "retireAt": "2026-03-03T12:00:00Z",
            "message": "Retiring",
        },
    )
    expl = build(obj, pods=[])
    out = screen_of(expl)
    assert out.startswith("MicroApp team-finance/shop: Retiring\n")
    assert (
        "  state        Retiring\n"
        "  rules        idled after 14d without activity, retired 30d later (Archive),\n"
        "               notice 3d ahead\n"
        "  last active  2026-01-18T12:00:00Z (42d ago, traffic)\n"
        "  idle since   2026-02-01T12:00:00Z (28d ago)\n"
        "  retires at   2026-03-03T12:00:00Z (in 2d)\n"
        "  keep alive   kubectl annotate microapp shop -n team-finance \\\n"
        f"               microapp.dev/wake={STAMP} --overwrite\n"
        "               - wakes it now (scaled back up), and cancels the retirement\n"
    ) in out
    assert expl.next.command == f"kubectl annotate microapp shop -n team-finance microapp.dev/wake={STAMP} --overwrite"
    assert "idles at" not in out


def test_a_retired_app_is_restored_by_annotation() -> None:
    obj = app(
        phase="Retired",
        conditions=[cond("Ready", "True", "Retired", "retired")],
        inventory=False,
        lifecycle={"retireAt": "2026-02-20T12:00:00Z"},
    )
    expl = build(obj, children={}, pods=[])
    assert expl.next.command == (
        f"kubectl annotate microapp shop -n team-finance microapp.dev/restore={STAMP} --overwrite"
    )


def test_policy_findings_name_their_field_and_the_fix() -> None:
    finding = "spec.image: registry docker.io/ is not allowed; use one of registry.internal/"
    obj = app(
        violations=[finding],
        conditions=[
            cond("Ready", "True", "Available", "all objects ready"),
            cond("PolicyCompliant", "False", "PolicyViolations", finding),
        ],
    )
    expl = build(obj)
    out = screen_of(expl)
    assert (
        f"Policy\n  finding      spec.image: registry docker.io/ is not allowed; use one of\n{HANG}registry.internal/\n"
        in out
    )
    assert "  fix          edit the fields named above in your MicroApp file and kubectl" in out
    assert "microapp validate --policy policy.yaml FILE checks it offline" in flat(out)
    assert expl.next.command == "microapp validate --policy policy.yaml FILE"


def test_what_the_cluster_refused_shows_as_not_readable_and_the_rest_still_shows() -> None:
    denied = explain.DENIED
    expl = build(
        app(),
        children={DEPLOYMENT: deployment(), SERVICE: denied},
        pods=denied,
        events=denied,
        budgets=denied,
        policy=denied,
    )
    out = screen_of(expl)
    assert "  NotReadable  Service shop: not readable with your permissions\n" in out
    assert f"Pods\n{HANG}Pods: not readable with your permissions\n" in out
    assert f"Events\n{HANG}Events: not readable with your permissions\n" in out
    assert "  team         finance: TeamBudgets not readable with your permissions\n" in out
    assert "; the PlatformPolicy's defaults are not readable with your permissions" in flat(out)
    assert expl.unreadable == ("Service shop", "Pods", "Events", "TeamBudgets", "PlatformPolicy")
    assert explain.as_data(expl)["pods"] is None
    assert expl.pods == NotReadable("Pods") and expl.cost.team_figures == NotReadable("TeamBudgets")


def test_an_app_the_operator_has_not_seen_yet() -> None:
    obj = app()
    obj["metadata"]["generation"] = 3
    expl = build(obj)
    assert "  note         status is of generation 2, the spec is at 3: the operator has not" in screen_of(expl)
    assert expl.next.command == "kubectl get microapp shop -n team-finance -w"
    bare = explain.build(
        {"metadata": {"name": "new", "namespace": "ns"}, "spec": {}},
        children={},
        pods=[],
        events=[],
        budgets=[],
        policy=None,
        now=NOW,
    )
    assert bare.phase == "Unknown" and bare.next.command == "kubectl get microapp new -n ns -w"
    assert "  Ready        no Ready condition yet\n" in screen_of(bare)


LONG = "x" * 150 + " " + "a very long message " * 30


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_no_line_is_wider_than_80_columns_even_with_very_long_messages(colour: bool) -> None:
    ns, name = "n" * 63, "a" * 53
    obj = app(
        name=name,
        namespace=ns,
        violations=[LONG],
        conditions=[
            cond("Ready", "False", "Progressing", LONG),
            cond("Reconciling", "True", "Progressing", "other " + LONG),
        ],
    )
    pods = [pod(f"{name}-7d9c4f5b6-{i}", ready=False, waiting="CrashLoopBackOff", restarts=3) for i in range(7)]
    events = [event(name, "Failed", LONG, type_="Warning")]
    out = explaintext.render(build(obj, pods=pods, events=events), width=80, colour=colour)
    widths = [len(screen.visible(line)) for line in out.splitlines()]
    assert max(widths) <= 80, [line for line in out.splitlines() if len(screen.visible(line)) > 80]
    assert ("\x1b[" in out) is colour
    assert "and 2 more not ready" in out


def test_colour_marks_ready_green_progress_yellow_failure_red() -> None:
    out = explaintext.render(
        build(app(), pods=[pod("shop-7d9c-a"), pod("shop-7d9c-b", ready=False, waiting="ImagePullBackOff")]),
        width=80,
        colour=True,
    )
    assert out.startswith("\x1b[1mMicroApp team-finance/shop\x1b[0m: \x1b[32mRunning\x1b[0m\n")
    assert "  \x1b[32mReady\x1b[0m        True (Available)" in out
    assert "  \x1b[31mFailing\x1b[0m      shop-7d9c-b: ImagePullBackOff, Running, not ready, 0 restarts" in out
    stalled = explaintext.render(
        build(app(phase="Pending", conditions=[cond("Ready", "False", "Progressing", "1 of 2")])), width=80, colour=True
    )
    assert "\x1b[33mPending\x1b[0m" in stalled and "  \x1b[33mReady\x1b[0m" in stalled


def test_text_from_the_cluster_cannot_drive_the_terminal() -> None:
    evil = event("shop", "Evil", "\x1b[2J\x1b]0;pwned\x07cleared\nnext line", type_="Warning")
    out = explaintext.render(build(app(), events=[evil]), width=80, colour=False)
    assert "\x1b" not in out and "\x07" not in out
    assert "Evil MicroApp/shop, 10m ago: [2J]0;pwnedcleared next line" in out


def test_a_wrapped_command_still_runs_when_pasted() -> None:
    cmd = (
        "kubectl annotate microapp "
        + "a" * 53
        + " -n "
        + "n" * 63
        + " microapp.dev/wake=2026-03-01T12:00:00Z --overwrite"
    )
    lines = screen.lines(Line("keep alive", cmd, command=True), 80, screen.painter(False))
    assert all(len(line) <= 80 for line in lines) and len(lines) > 1
    assert all(line.endswith(" \\") for line in lines[:-1])
    pasted = " ".join(line.removesuffix(" \\").strip() for line in lines).removeprefix("keep alive").strip()
    assert pasted == cmd


def test_a_snooze_postpones_the_idling_date() -> None:
    obj = app()
    obj["metadata"]["annotations"]["microapp.dev/snooze-until"] = "2026-04-01T00:00:00Z"
    out = screen_of(build(obj))
    assert "  idles at     2026-04-01T00:00:00Z (in 30d unless used)\n" in out
    assert "  snoozed to   2026-04-01T00:00:00Z (in 30d)\n" in out


def test_the_page_shows_public_exposure_waiting_rejected_and_approved() -> None:
    assert build(app()).approval is None  # never asked: nothing on the page
    asked = {
        "microapp.dev/public-requested-host": "shop.example.com",
        "microapp.dev/public-requested-at": "2026-12-07T09:00:00Z",
    }
    waiting = app()
    waiting["metadata"]["annotations"] = {**waiting["metadata"].get("annotations", {}), **asked}
    view = build(waiting).approval
    assert view is not None and (view.state, view.tone) == ("Waiting", Tone.WARN)
    assert view.sentence == "public exposure at shop.example.com asked at 2026-12-07T09:00:00Z: waiting for an approver"
    rejected = app()
    rejected["metadata"]["annotations"] = {
        **asked,
        "microapp.dev/public-rejected-by": "carol@example.com",
        "microapp.dev/public-rejected-at": "2026-12-07T09:30:00Z",
        "microapp.dev/public-rejected-reason": "put it behind SSO first",
    }
    view = build(rejected).approval
    assert view is not None and (view.state, view.tone, view.reason) == (
        "Rejected",
        Tone.BAD,
        "put it behind SSO first",
    )
    assert "rejected by carol@example.com at 2026-12-07T09:30:00Z: put it behind SSO first" in view.sentence
    approved = app(spec={"template": "web-service@^1", "expose": "public", "host": "shop.example.com"})
    approved["metadata"]["annotations"] = {
        "microapp.dev/public-approved-by": "carol@example.com",
        "microapp.dev/public-approved-at": "2026-12-07T10:00:00Z",
    }
    view = build(approved).approval
    assert view is not None and view.sentence == (
        "public at shop.example.com: approved by carol@example.com at 2026-12-07T10:00:00Z"
    )
    assert explain.as_data(build(approved))["approval"]["approvedAt"] == "2026-12-07T10:00:00Z"
