"""The one command ``microapp explain`` suggests, chosen from the app's situation (pure).

An early-return chain in the order a person has to act: nothing can be read before the
operator has looked; a stalled app moves only when its spec, the catalog or the cluster
changes; a held app only when its cost or its findings do; then broken Pods, a rollout, sleep,
and for a healthy app the check before the next change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..api.conditions import ConditionType, Phase, Reason
from .views import ChildView, ConditionView, LifecycleView, NextStep, PodView, Tone

_UNSTALL = {
    Reason.TEMPLATE_NOT_FOUND.value: (
        "microapp catalog",
        "spec.template names no template version of the catalog: "
        "pick one it lists, fix spec.template, then kubectl apply -f FILE",
    ),
    Reason.RUNTIME_UNAVAILABLE.value: (
        "microapp catalog",
        "the template needs a kind this cluster lacks (named "
        "above): pick another template, or ask the platform team to install it",
    ),
    Reason.NAME_CONFLICT.value: (
        "microapp render FILE",
        "an object this app renders exists and is not the app's (named above): rename the app or remove that object",
    ),
}


def next_step(
    ns: str,
    name: str,
    st: Mapping[str, Any],
    observed: str | None,
    conds: Mapping[str, ConditionView],
    kids: Sequence[ChildView],
    pods: Sequence[PodView],
    life: LifecycleView,
) -> NextStep:
    """The one command to run now, chosen from the situation. No side effects."""
    ready, stalled = conds.get(ConditionType.READY.value), conds.get(ConditionType.STALLED.value)
    watch = f"kubectl get microapp {name} -n {ns} -w"
    # 1. The operator has not looked at this generation: nothing to read yet.
    if observed:
        return NextStep(watch, "the status will follow once the operator processes the app")
    # 2. Stalled: nothing moves until the spec, the catalog or the cluster changes.
    if stalled is not None and stalled.status == "True":
        return NextStep(
            *_UNSTALL.get(
                stalled.reason,
                (
                    "microapp validate FILE",
                    "fix the field named above in your MicroApp file (validate checks it "
                    "offline), then kubectl apply -f FILE",
                ),
            )
        )
    # 3. Held back before its first rollout: over budget or against the policy.
    if ready is not None and ready.status == "False" and ready.reason == Reason.OVER_BUDGET.value:
        return NextStep(
            "microapp estimate FILE",
            "lower spec.replicas or spec.resources, or raise "
            "spec.budget.monthlyLimit (or ask for a TeamBudget raise), then kubectl apply -f FILE",
        )
    if ready is not None and ready.status == "False" and ready.reason == Reason.POLICY_VIOLATIONS.value:
        return NextStep(
            "microapp validate --policy policy.yaml FILE",
            "fix the findings under Policy, then "
            "kubectl apply -f FILE (kubectl get platformpolicy default -o yaml > policy.yaml)",
        )
    # 4. A Pod that crashes or cannot start: its logs or its description say why.
    broken = next((p for p in pods if p.tone is Tone.BAD), None)
    if broken is not None and broken.restarts:
        return NextStep(
            f"kubectl logs -n {ns} {broken.name} --previous",
            f"Pod {broken.name} is {broken.reason or 'failing'}: the previous run's log says why",
        )
    if broken is not None:
        return NextStep(
            f"kubectl describe pod -n {ns} {broken.name}",
            f"Pod {broken.name} is {broken.reason or 'failing'} (check spec.image and the Events)",
        )
    failed = next((k for k in kids if k.tone is Tone.BAD), None)
    if failed is not None:
        group = failed.api_version.rpartition("/")[0]  # deployment.apps, service.serving.knative.dev
        return NextStep(
            f"kubectl describe {failed.kind.lower()}{'.' + group if group else ''} {failed.name} -n {ns}",
            failed.message,
        )
    if ready is not None and ready.status == "False" and ready.reason == Reason.ROLLOUT_FAILED.value:
        return NextStep(f"kubectl get events -n {ns}", "a rollout failed (above): the namespace's Events say more")
    # 5. Rolling out: watch it settle.
    if ready is not None and ready.status != "True":
        return NextStep(watch, "the rollout is in progress: watch until Ready")
    # 6. Asleep or retired: the lifecycle's own command.
    if life.state != "Active" and life.actions:
        main = life.actions[0]
        return NextStep(main.command, main.why, main.name)
    if st.get("phase") == Phase.SUSPENDED.value:
        return NextStep("kubectl apply -f FILE", "suspended as asked: set spec.suspend: false in FILE to run it")
    if st.get("violations"):
        return NextStep(
            "microapp validate --policy policy.yaml FILE",
            "it runs, but breaks the policy: fix the "
            "findings before the platform tightens (kubectl get platformpolicy default -o yaml > policy.yaml)",
        )
    # 7. Ready: check what the next change would do before applying it.
    return NextStep("microapp diff FILE", "before your next kubectl apply: what it would change in the cluster")
