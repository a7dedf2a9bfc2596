"""Hostile AppTemplates on the real control plane: each stops in the sandbox, its app stalls
with TemplateFailed, other apps keep being served, and the operator's memory stays bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import eventually, get_json, kubectl, microapp

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ app.name }}}\ndata:\n  v: "
HOSTILE = {
    "loop": (
        HEAD + "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x\n",
        "steps of work",
    ),
    "explode": (
        HEAD + "{% set a = 'xxxxxxxxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40 + "{{ a|length }}\n",
        "MiB of text",
    ),
    "recurse": (HEAD + "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}\n", "recursed too deeply"),
    "escape": (HEAD + "{{ ''.__class__.__mro__[1].__subclasses__() }}\n", "the sandbox forbids"),
    "crb": (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: {{ app.name }}}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{kind: ServiceAccount, name: {{ app.name }}, namespace: {{ app.namespace }}}]\n",
        "ClusterRoleBinding (rbac.authorization.k8s.io/v1) is not allowed for runtime container",
    ),
}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def publish(short: str) -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "AppTemplate",
            "metadata": {"name": f"evil-{short}-1.0.0"},
            "spec": {
                "templateName": f"evil-{short}",
                "version": "1.0.0",
                "runtime": "container",
                "manifests": HOSTILE[short][0],
            },
        },
    )


@pytest.fixture
def hostile_templates(crds: None) -> Iterator[None]:
    yield
    kubectl("delete", "apptemplate", *(f"evil-{short}-1.0.0" for short in HOSTILE), check=False)


def test_hostile_templates_stall_their_apps_and_nothing_else(
    operator: object, namespace: str, hostile_templates: None
) -> None:
    """The apps exist first (a template not yet published is no reason to refuse them); then the
    hostile templates are published, the operator renders them, and each app stalls."""
    pid = operator.proc.pid  # type: ignore[attr-defined]
    before = rss_mib(pid)
    for short in HOSTILE:
        kubectl("apply", "-f", "-", input=microapp(f"evil-{short}", namespace, template=f"evil-{short}"))
    for short in HOSTILE:
        publish(short)
    kubectl("apply", "-f", "-", input=microapp("innocent", namespace))
    kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", namespace, "mapp/innocent")
    for short, (_, message) in HOSTILE.items():

        def stalled(name: str = f"evil-{short}") -> dict | None:
            conds = get_json("mapp", name, "-n", namespace).get("status", {}).get("conditions", [])
            return next((c for c in conds if c["type"] == "Stalled" and c["reason"] == "TemplateFailed"), None)

        cond = eventually(stalled, timeout=60, what=f"evil-{short} to stall with TemplateFailed")
        assert message in cond["message"], cond["message"]
        assert "Traceback" not in cond["message"]
    assert kubectl("get", "clusterrolebinding", "evil-crb", check=False).returncode != 0
    proc = kubectl("apply", "-f", "-", input=microapp("evil-again", namespace, template="evil-loop"), check=False)
    assert proc.returncode != 0  # admission renders it too, within the same budget, and says so plainly
    assert "template evil-loop@1.0.0: the template did more than 1,000,000 steps of work" in proc.stderr
    after = rss_mib(pid)
    assert operator.proc.poll() is None  # type: ignore[attr-defined]
    assert after < 600 and after - before < 200, f"operator RSS {before:.0f} -> {after:.0f} MiB"
