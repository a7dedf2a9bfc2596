"""What an apply would change (pure): in the MicroApp, in every rendered child, in cost and in
policy findings.

The shell (``entry/diffcmd.py``) gathers the inputs: the MicroApp as the API server would
store it (a server-side dry run, so defaults and admission apply), the live MicroApp, the
reconcile decision for the new one (``core.reconcile.decide`` with the cluster's catalog,
policy and budgets: the very function the operator runs) and the live children. This module
compares them. A child is compared on the fields the operator sets, not on what the server
and other controllers add (``status``, defaults, ``managedFields``), which is what
``kubectl diff`` would show as noise.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import yaml

from ..api.conditions import ConditionType
from ..api.kinds import ObjectId, entry_id, object_id
from ..core import drift, reconcile

Action = Literal["create", "update", "delete", "unchanged", "unknown"]  # unknown: not readable
ChildKey = ObjectId  # (apiVersion, kind, name)
Outcome = Literal["apply", "held", "stalled", "refused", "deleted"]

# Metadata the API server keeps, and annotations no reader cares about in a diff.
_SERVER_META = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "ownerReferences",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_NOISE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", drift.HASH_ANNOTATION)


@dataclass(frozen=True)
class Change:
    """One rendered child: what an apply would do to it, and the lines of its diff."""

    api_version: str
    kind: str
    name: str
    action: Action
    lines: tuple[str, ...] = ()
    note: str = ""

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Report:
    """Everything an apply of one MicroApp would change."""

    namespace: str
    name: str
    outcome: Outcome
    message: str = ""  # why it is refused, held or stalled
    new: bool = False  # the MicroApp does not exist yet
    app_lines: tuple[str, ...] = ()  # diff of the MicroApp's labels, annotations and spec
    children: tuple[Change, ...] = ()
    cost_before: Decimal | None = None
    cost_after: Decimal | None = None
    currency: str = ""
    budget: str = ""  # the WithinBudget condition's message
    findings_new: tuple[str, ...] = ()
    findings_gone: tuple[str, ...] = ()
    template_before: str = ""
    template_after: str = ""

    @property
    def differs(self) -> bool:
        """Whether applying the file would change anything (CI's exit code 1)."""
        return bool(
            self.new
            or self.app_lines
            or self.outcome != "apply"
            or self.findings_new
            or self.findings_gone
            or self.cost_before != self.cost_after
            or self.template_before != self.template_after
            or any(c.action not in ("unchanged", "unknown") for c in self.children)
        )


def refused(namespace: str, name: str, message: str, *, new: bool) -> Report:
    """The API server (our admission webhook, or the CRD schema) would refuse the apply."""
    return Report(namespace, name, "refused", message=message, new=new)


def compare(
    *,
    live_app: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    decision: reconcile.Decision,
    live: Mapping[ChildKey, Mapping[str, Any]],
    currency: str,
) -> Report:
    """The report for one MicroApp: ``after`` is the dry-run result, ``decision`` what the
    reconciler would decide for it, ``live`` the existing children by (apiVersion, kind, name)."""
    meta = after.get("metadata") or {}
    old_status = (live_app or {}).get("status") or {}
    before_cost = decimal((old_status.get("cost") or {}).get("estimatedMonthly"))
    old_findings = tuple(old_status.get("violations") or ())
    new_findings = tuple(decision.violations)
    template = decision.template if isinstance(decision, reconcile.Apply) else {}
    return Report(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        outcome=_outcome(decision),
        message=_message(decision),
        new=live_app is None,
        app_lines=tuple(unified(app_view(live_app) if live_app else None, app_view(after), "MicroApp")),
        children=tuple(children(decision, old_status, live)),
        cost_before=before_cost,
        cost_after=decision.estimate,
        currency=currency,
        budget=_budget_message(decision),
        findings_new=tuple(f for f in new_findings if f not in old_findings),
        findings_gone=tuple(f for f in old_findings if f not in new_findings),
        template_before=_version(old_status.get("template")),
        template_after=_version(template) if template else _version(old_status.get("template")),
    )


def children(
    decision: reconcile.Decision, old_status: Mapping[str, Any], live: Mapping[ChildKey, Mapping[str, Any]]
) -> list[Change]:
    """Each child: created, updated (with its diff), unchanged, or deleted (pruned). A refused,
    held or stalled app applies nothing, so its children stay as they are."""
    if not isinstance(decision, reconcile.Apply):
        return []
    out = [child(obj, live.get(key_of(obj))) for obj in decision.objects]
    kept = {key_of(obj) for obj in decision.objects}
    for entry in old_status.get("inventory") or ():
        key = entry_id(entry)
        if key not in kept and key in live:
            out.append(
                Change(
                    *key,
                    action="delete",
                    lines=tuple(unified(shown(live[key]), None, f"{key[1]} {key[2]}")),
                    note="no longer rendered: the operator deletes it",
                )
            )
    return out


def child(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> Change:
    """One desired child against its live object, on the fields the operator sets."""
    api_version, kind, name = key_of(desired)
    if live is None:
        return Change(api_version, kind, name, "create", tuple(unified(None, shown(desired), f"{kind} {name}")))
    stamped = drift.with_hash(dict(desired))
    lines = unified(shown(projected(live, desired)), shown(desired), f"{kind} {name}")
    if drift.in_sync(dict(live), stamped):
        return Change(api_version, kind, name, "unchanged")
    note = "" if lines else "fields the operator set before are no longer set (they go on the next apply)"
    return Change(api_version, kind, name, "update", tuple(lines), note)


def key_of(obj: Mapping[str, Any]) -> ChildKey:
    return object_id(obj)


def projected(live: Any, desired: Any) -> Any:
    """The part of ``live`` that ``desired`` speaks about: the same keys, the same list shape.
    A key missing from ``live`` is left out, so the diff shows it as added."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {
            k: projected(live[k], v) if k in live else v for k, v in desired.items() if k in live or drift.omitted(v)
        }  # the server drops empty values: not a change
    if isinstance(desired, list) and isinstance(live, list) and len(live) == len(desired):
        return [projected(lv, dv) for lv, dv in zip(live, desired)]
    if isinstance(live, (int, float)) and isinstance(desired, str) and str(live) == desired:
        return desired  # quantities: 1 vs "1" are the same value
    return live


def shown(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object as the diff shows it: no server metadata, no bookkeeping annotations, no status."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _NOISE_ANNOTATIONS}
    meta.pop("annotations", None)
    if notes:
        meta["annotations"] = notes
    out["metadata"] = meta
    return out


def app_view(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a MicroApp's author controls: labels, annotations and spec."""
    if obj is None:
        return None
    meta = shown(obj)["metadata"]
    return {"metadata": {k: meta[k] for k in ("labels", "annotations") if meta.get(k)}, "spec": obj.get("spec") or {}}


def unified(before: Any, after: Any, label: str) -> list[str]:
    """Unified diff lines (no trailing newlines) of two values as YAML; empty when equal."""
    if before == after:
        return []
    old = _yaml(before)
    new = _yaml(after)
    if old == new:
        return []
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            old,
            new,
            fromfile=f"live {label}" if before is not None else "/dev/null",
            tofile=f"after apply {label}" if after is not None else "/dev/null",
            n=3,
        )
    ]


def _yaml(value: Any) -> list[str]:
    if value is None:
        return []
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=1000).splitlines(keepends=True)


def _outcome(decision: reconcile.Decision) -> Outcome:
    if isinstance(decision, reconcile.Stall):
        return "stalled"
    if isinstance(decision, reconcile.Hold):
        return "held"
    return "deleted" if decision.delete_app else "apply"


def _message(decision: reconcile.Decision) -> str:
    if isinstance(decision, reconcile.Apply):
        return "retired with onRetire: Delete: the operator deletes the MicroApp itself" if decision.delete_app else ""
    ready = _condition(decision.status, ConditionType.READY)
    return str(ready.get("message") or "")


def _budget_message(decision: reconcile.Decision) -> str:
    if isinstance(decision, reconcile.Apply):  # its conditions, decided (the status follows the applies)
        found = [c.message for c in decision.conditions if c.type == ConditionType.WITHIN_BUDGET.value]
        return found[0] if found else ""
    return str(_condition(decision.status, ConditionType.WITHIN_BUDGET).get("message") or "")


def _condition(status: Mapping[str, Any], type_: ConditionType) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or () if c.get("type") == type_.value), {})


def _version(template: Mapping[str, Any] | None) -> str:
    t = template or {}
    return f"{t['name']}@{t['version']}" if t.get("name") and t.get("version") else ""


def decimal(text: Any) -> Decimal | None:
    """A money string from a status, or None when absent or not a number."""
    try:
        return Decimal(str(text)) if text not in (None, "") else None
    except ArithmeticError:
        return None


_COLOURS = {"+": "\033[32m", "-": "\033[31m", "@": "\033[36m", "!": "\033[1m"}
_RESET = "\033[0m"
_HEADLINES = {
    "refused": "the apply would be refused",
    "held": "would not be rolled out",
    "stalled": "would stall, nothing applied",
    "deleted": "would be deleted",
}


def text(report: Report, *, colour: bool = False) -> str:
    """The report as a terminal shows it: a headline, the MicroApp's diff, each child, cost and
    findings. ``colour``: ANSI colours for added, removed and hunk lines."""
    paint = _painter(colour)
    out = [paint("!", f"MicroApp {report.namespace}/{report.name}: {headline(report)}")]
    if report.message:
        out += [f"  {line}" for line in report.message.splitlines()]
    out += [paint(line[:1], line) for line in report.app_lines]
    for change in report.children:
        if change.action != "unchanged":
            out.append(f"{change.ref}: {change.action}" + (f" ({change.note})" if change.note else ""))
            out += [paint(line[:1], f"  {line}") for line in change.lines]
    same = [c.ref for c in report.children if c.action == "unchanged"]
    if same:
        out.append("unchanged: " + ", ".join(same))
    if report.template_before != report.template_after:
        out.append(f"template: {report.template_before or '(none)'} -> {report.template_after}")
    if report.cost_after is not None or report.cost_before is not None:
        out.append(f"cost: {_cost_line(report)}" + (f"; budget: {report.budget}" if report.budget else ""))
    out += [paint("-", f"new policy finding: {f}") for f in report.findings_new]
    out += [paint("+", f"policy finding resolved: {f}") for f in report.findings_gone]
    return "\n".join(out) + "\n"


def headline(report: Report) -> str:
    if report.outcome != "apply":
        return _HEADLINES[report.outcome]
    if not report.differs:
        return f"no changes ({len(report.children)} children checked)"
    counts: dict[str, int] = {}
    for change in report.children:
        counts[change.action] = counts.get(change.action, 0) + 1
    parts = [f"{counts[a]} to {a}" for a in ("create", "update", "delete") if counts.get(a)]
    return ("new; " if report.new else "changed; ") + (", ".join(parts) or "no child changes")


def as_data(report: Report) -> dict[str, Any]:
    """The report for ``-o json``: plain values, money as strings."""
    return {
        "namespace": report.namespace,
        "name": report.name,
        "differs": report.differs,
        "outcome": report.outcome,
        "message": report.message or None,
        "new": report.new,
        "microapp": list(report.app_lines),
        "children": [
            {
                "apiVersion": c.api_version,
                "kind": c.kind,
                "name": c.name,
                "action": c.action,
                "diff": list(c.lines),
                "note": c.note or None,
            }
            for c in report.children
        ],
        "cost": {
            "before": _money(report.cost_before),
            "after": _money(report.cost_after),
            "currency": report.currency or None,
            "budget": report.budget or None,
        },
        "template": {"before": report.template_before or None, "after": report.template_after or None},
        "findings": {"new": list(report.findings_new), "resolved": list(report.findings_gone)},
    }


def _cost_line(report: Report) -> str:
    before, after, unit = report.cost_before, report.cost_after, f"{report.currency}/month"
    if before is None:
        return f"{_money(after)} {unit} (new)"
    if after is None or before == after:
        return f"{_money(before)} {unit} (unchanged)"
    delta = after - before
    return f"{_money(before)} -> {_money(after)} {unit} ({'+' if delta > 0 else ''}{_money(delta)})"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


def _painter(colour: bool) -> Any:
    def paint(kind: str, line: str) -> str:
        code = _COLOURS.get(kind) if colour else None
        return f"{code}{line}{_RESET}" if code and not line.lstrip().startswith(("+++", "---")) else line

    return paint


def changed(reports: Iterable[Report]) -> int:
    """How many of ``reports`` would change something (the summary line)."""
    return sum(r.differs for r in reports)
