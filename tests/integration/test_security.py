"""No one gets through the operator what RBAC denies them.

A citizen developer whose only rights are MicroApp create/update in their team namespace
(plus read of the children) tries everything below through `kubectl --as --as-group`, against
the real API server, RBAC and webhook.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.helpers import eventually, get_json, kubectl, microapp

ALICE = ("--as=alice@example.com", "--as-group=sec-devs")  # a citizen developer of team sec
CAROL = ("--as=carol@example.com", "--as-group=platform-admins")  # a public-exposure approver


@pytest.fixture
def sec(namespace: str, policy_team: Callable[..., None]) -> Iterator[dict]:
    """Team `sec` owns `namespace`; another team owns a second namespace; alice's RBAC."""
    other_ns = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", other_ns)
    team, other = f"sec{uuid.uuid4().hex[:6]}", f"oth{uuid.uuid4().hex[:6]}"
    policy_team(team, namespaces=[namespace], groups=["sec-devs"])
    policy_team(other, namespaces=[other_ns], groups=["other-devs"])
    for ns in (namespace, other_ns):
        kubectl(
            "apply",
            "-n",
            ns,
            "-f",
            "-",
            input=[
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "citizen-developer"},
                    "rules": [
                        {
                            "apiGroups": ["microapp.dev"],
                            "resources": ["microapps"],
                            "verbs": ["get", "list", "watch", "create", "update", "patch"],
                        },
                        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
                        {"apiGroups": [""], "resources": ["services", "pods"], "verbs": ["get", "list", "watch"]},
                    ],
                }
            ],
        )
    kubectl(
        "apply",
        "-f",
        "-",
        input=[  # approvers edit MicroApps anywhere (to set the approval)
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "test-microapp-approver"},
                "rules": [
                    {
                        "apiGroups": ["microapp.dev"],
                        "resources": ["microapps"],
                        "verbs": ["get", "list", "watch", "create", "update", "patch"],
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "test-microapp-approver"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "test-microapp-approver",
                },
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "platform-admins"}],
            },
        ],
    )
    kubectl("create", "rolebinding", "alice-dev", "--role=citizen-developer", "--group=sec-devs", "-n", namespace)
    kubectl("create", "rolebinding", "alice-dev", "--role=citizen-developer", "--group=sec-devs", "-n", other_ns)
    yield {"ns": namespace, "team": team, "other_ns": other_ns, "other": other}
    kubectl("delete", "namespace", other_ns, "--wait=false", check=False)


def app(name: str, ctx: dict, *, annotations: dict | None = None, **spec: object) -> dict:
    no_approval = {"microapp.dev/public-approved-by": None}  # not the harness's own approval
    return microapp(name, ctx["ns"], team=ctx["team"], annotations={**no_approval, **(annotations or {})}, **spec)


def refused(body: dict, *as_user: str) -> str:
    proc = kubectl("apply", *as_user, "-f", "-", input=body, check=False)
    assert proc.returncode != 0, proc.stdout
    assert 'admission webhook "admission.microapp.dev" denied the request: the MicroApp was refused:' in proc.stderr
    return proc.stderr


def test_alice_can_create_her_own_app(operator: object, sec: dict) -> None:
    kubectl("apply", *ALICE, "-f", "-", input=app("mine", sec))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", sec["ns"], "mapp/mine")
    assert (
        next(
            c
            for c in get_json("mapp", "mine", "-n", sec["ns"])["status"]["conditions"]
            if c["type"] == "PolicyCompliant"
        )["status"]
        == "True"
    )


def test_other_teams_namespace_is_refused(operator: object, sec: dict) -> None:
    body = app("elsewhere", sec)
    body["metadata"]["namespace"] = sec["other_ns"]
    err = refused(body, *ALICE)
    assert f"- namespace '{sec['other_ns']}' is not one of team {sec['team']}'s namespaces ({sec['ns']})" in err


def test_app_for_another_team_is_refused(operator: object, sec: dict) -> None:
    err = refused(app("theirs", sec, annotations={"microapp.dev/team": sec["other"]}), *ALICE)
    assert f"- user 'alice@example.com' is not a member of team {sec['other']} (groups: other-devs)" in err


EDITORS = {
    "system-masters": ("group:system:masters", "system: users and groups cannot be granted access through a MicroApp"),
    "wildcard": ("group:*", "wildcards are not allowed; name each user or group"),
    "other-team-group": ("group:other-devs", "group 'other-devs' belongs to another team"),
    "malformed": ("bob", "write user:NAME, group:NAME or serviceaccount:NAMESPACE:NAME"),
    "system-user": ("user:system:kube-controller-manager", "system: users and groups cannot be granted access"),
}


@pytest.mark.parametrize("value,message", EDITORS.values(), ids=EDITORS.keys())
def test_dangerous_editors_are_refused(operator: object, sec: dict, value: str, message: str) -> None:
    err = refused(app("grant", sec, annotations={"microapp.dev/editors": value}), *ALICE)
    assert f"- metadata.annotations.microapp.dev/editors: '{value}': {message}" in err


SPECS = {
    "foreign-registry": (
        {"image": "docker.io/evil/miner:1.0"},
        "- spec.image 'docker.io/evil/miner:1.0' is not from an allowed registry (registry.internal/)",
    ),
    "latest-tag": (
        {"image": "registry.internal/sec/app:latest"},
        "- spec.image 'registry.internal/sec/app:latest' has no fixed tag",
    ),
    "privileged-parameter": (
        {"parameters": {"securityContext": {"privileged": True}}},
        "- spec.parameters: Additional properties are not allowed ('securityContext' was unexpected)",
    ),
    "hostpath-parameter": (
        {"template": "worker", "parameters": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}},
        "- spec.parameters: Additional properties are not allowed ('volumes' was unexpected)",
    ),
    "service-account-parameter": (
        {"template": "worker", "parameters": {"serviceAccountName": "admin"}},
        "('serviceAccountName' was unexpected)",
    ),
    "too-many-replicas": ({"replicas": 50}, "- spec.replicas is 50; the platform allows at most 10 replicas"),
    "autoscaler-over-limit": (
        {"parameters": {"autoscale": {"max": 40}}},
        "- the autoscaler's maximum (spec.parameters) is 40; the platform allows at most 10",
    ),
    "too-much-cpu": (
        {"resources": {"cpu": "4", "memory": "256Mi"}},
        "- spec.resources.cpu: 4 is more than the platform's maximum of 2 per container",
    ),
    "too-much-memory": (
        {"resources": {"cpu": "100m", "memory": "16Gi"}},
        "- spec.resources.memory: 16Gi is more than the platform's maximum of 4Gi per container",
    ),
}


@pytest.mark.parametrize("spec,message", SPECS.values(), ids=SPECS.keys())
def test_guardrails_are_enforced_at_apply(operator: object, sec: dict, spec: dict, message: str) -> None:
    assert message in refused(app("bad", sec, **spec), *ALICE)
    assert kubectl("get", "mapp", "bad", "-n", sec["ns"], check=False).returncode != 0


def test_all_violations_are_listed_at_once(operator: object, sec: dict) -> None:
    err = refused(
        app("many", sec, image="docker.io/x/y:latest", replicas=20, annotations={"microapp.dev/editors": "group:*"}),
        *ALICE,
    )
    assert err.count("\n- ") >= 4, err


def test_public_exposure_needs_an_approver(operator: object, sec: dict) -> None:
    public = {"expose": "public", "host": "sec.example.com"}
    assert "- spec.expose: public needs approval: a member of platform-admins sets" in refused(
        app("pub", sec, **public), *ALICE
    )
    self_approved = app("pub", sec, annotations={"microapp.dev/public-approved-by": "alice@example.com"}, **public)
    err = refused(self_approved, *ALICE)
    assert (
        "- metadata.annotations.microapp.dev/public-approved-by can only be set by a member of platform-admins; "
        "ask one of them to approve public exposure (you cannot approve your own app)"
    ) in err
    forged = app("pub", sec, annotations={"microapp.dev/public-approved-by": "carol@example.com"}, **public)
    assert "can only be set by a member of platform-admins" in refused(forged, *ALICE)
    wrong_name = app("pub", sec, annotations={"microapp.dev/public-approved-by": "dave@example.com"}, **public)
    assert "must name the approver who sets it ('carol@example.com'), not 'dave@example.com'" in refused(
        wrong_name, *CAROL
    )
    # Alice creates it internal; carol approves and exposes it; alice keeps working on it.
    kubectl("apply", *ALICE, "-f", "-", input=app("pub", sec))
    kubectl("apply", *CAROL, "-f", "-", input=forged)
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", sec["ns"], "mapp/pub")
    assert get_json("ingress", "pub", "-n", sec["ns"])["spec"]["rules"][0]["host"] == "sec.example.com"
    kubectl("apply", *ALICE, "-f", "-", input={**forged, "spec": {**forged["spec"], "replicas": 2}})


def test_ownership_transfer_only_by_the_current_team(operator: object, sec: dict) -> None:
    kubectl("apply", *ALICE, "-f", "-", input=app("handover", sec))
    mallory = ("--as=mallory@example.com", "--as-group=other-devs")
    kubectl("create", "rolebinding", "mallory-dev", "--role=citizen-developer", "--group=other-devs", "-n", sec["ns"])
    taken = app("handover", sec, annotations={"microapp.dev/owner": "mallory@example.com"})
    err = refused(taken, *mallory)
    assert "only a member of its current team" in err
    handed = app("handover", sec, annotations={"microapp.dev/owner": "bob@example.com"})
    kubectl("apply", *ALICE, "-f", "-", input=handed)
    eventually(
        lambda: (
            "OwnershipTransferred"
            in [
                e["reason"]
                for e in get_json("events", "-n", sec["ns"], "--field-selector", "involvedObject.name=handover")[
                    "items"
                ]
            ]
        ),
        what="the ownership transfer Event",
    )


def test_editors_can_patch_and_read_logs_but_nothing_else(operator: object, sec: dict) -> None:
    kubectl(
        "apply",
        *ALICE,
        "-f",
        "-",
        input=app(
            "shared",
            sec,
            annotations={"microapp.dev/editors": "user:bob@example.com", "microapp.dev/viewers": "group:sec-auditors"},
        ),
    )
    kubectl("apply", *ALICE, "-f", "-", input=app("private", sec))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", sec["ns"], "mapp/shared")
    ns = sec["ns"]

    def can(*args: str, who: tuple[str, ...] = ("--as=bob@example.com",)) -> str:
        return kubectl("auth", "can-i", *args, "-n", ns, *who, check=False).stdout.strip()

    assert can("patch", "microapps.microapp.dev/shared") == "yes"
    assert can("get", "deployments/shared") == "yes"
    assert can("get", "pods", "--subresource=log") == "yes"
    assert can("patch", "microapps.microapp.dev/private") == "no"
    assert can("get", "deployments/private") == "no"
    assert can("get", "secrets") == "no"
    assert can("create", "microapps.microapp.dev") == "no"
    auditor = ("--as=eve@example.com", "--as-group=sec-auditors")
    assert can("get", "microapps.microapp.dev/shared", who=auditor) == "yes"
    assert can("patch", "microapps.microapp.dev/shared", who=auditor) == "no"
    assert can("get", "pods", "--subresource=log", who=auditor) == "no"
    kubectl(
        "patch", "mapp", "shared", "-n", ns, "--as=bob@example.com", "--type=merge", "-p", '{"spec":{"replicas":2}}'
    )
    grab = kubectl(
        "annotate",
        "mapp",
        "shared",
        "-n",
        ns,
        "--as=bob@example.com",
        "--overwrite",
        "microapp.dev/editors=user:bob@example.com,user:mallory@example.com",
        check=False,
    )
    assert grab.returncode != 0
    assert "only members of team" in grab.stderr and "may change who can edit or view this app" in grab.stderr
    role = get_json("role", "shared-editor", "-n", ns)
    assert {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "resourceNames": ["shared"],
        "verbs": ["get", "list", "watch"],
    } in role["rules"]
    # Removing a subject removes its access.
    kubectl(
        "apply",
        *ALICE,
        "-f",
        "-",
        input=app("shared", sec, annotations={"microapp.dev/editors": "user:dana@example.com"}),
    )
    eventually(lambda: can("patch", "microapps.microapp.dev/shared") == "no", what="bob's access removed")
    assert can("patch", "microapps.microapp.dev/shared", who=("--as=dana@example.com",)) == "yes"
    eventually(
        lambda: kubectl("get", "rolebinding", "shared-viewers", "-n", ns, check=False).returncode != 0,
        what="the viewers' binding pruned",
    )


def test_policy_change_flags_but_keeps_running(operator: object, sec: dict, policy_team: Callable[..., None]) -> None:
    kubectl("apply", *ALICE, "-f", "-", input=app("legacy", sec, replicas=3))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", sec["ns"], "mapp/legacy")
    # The platform moves team sec to another namespace: the running app no longer complies.
    policy_team(sec["team"], namespaces=["team-sec-new"], groups=["sec-devs"])

    def flagged() -> dict:
        st = get_json("mapp", "legacy", "-n", sec["ns"])["status"]
        conds = {c["type"]: c for c in st["conditions"]}
        return st if conds["PolicyCompliant"]["status"] == "False" else {}

    st = eventually(flagged, what="PolicyCompliant=False")
    assert st["violations"] == [f"namespace '{sec['ns']}' is not one of team {sec['team']}'s namespaces (team-sec-new)"]
    assert next(c for c in st["conditions"] if c["type"] == "Ready")["status"] == "True"
    assert get_json("deployment", "legacy", "-n", sec["ns"])["spec"]["replicas"] == 3


def test_network_policy_limits_ingress(operator: object, sec: dict) -> None:
    kubectl("apply", *ALICE, "-f", "-", input=app("net", sec))
    spec = eventually(lambda: get_json("networkpolicy", "net", "-n", sec["ns"])["spec"], what="the NetworkPolicy")
    assert spec["ingress"] == [{"from": [{"podSelector": {}}]}]
    approver_cannot_create = app(
        "net2",
        sec,
        expose="public",
        host="n2.example.com",
        annotations={"microapp.dev/public-approved-by": "carol@example.com"},
    )
    assert "is not a member of team" in refused(approver_cannot_create, *CAROL)
    kubectl(
        "apply",
        *CAROL,
        "-f",
        "-",
        input=app(
            "net",
            sec,
            expose="public",
            host="net.example.com",
            annotations={"microapp.dev/public-approved-by": "carol@example.com"},
        ),
    )
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", sec["ns"], "mapp/net")
    spec = get_json("networkpolicy", "net", "-n", sec["ns"])["spec"]
    assert spec["podSelector"] == {"matchLabels": {"microapp.dev/name": "net"}}
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {
            "from": [
                {"podSelector": {}},
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
            ]
        }
    ]


def test_policy_reports_when_the_crd_exists(operator: object, sec: dict, policy_team: Callable[..., None]) -> None:
    from tests.helpers import ROOT

    crd = ROOT / "tests" / "fixtures" / "crds" / "wgpolicyk8s.io_policyreports.yaml"
    kubectl("apply", "--server-side", "-f", str(crd))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crd))
    kubectl("apply", *ALICE, "-f", "-", input=app("reported", sec))
    kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", sec["ns"], "mapp/reported")
    report = eventually(
        lambda: get_json("policyreport", "microapp-operator", "-n", sec["ns"]),
        timeout=60,
        what="the namespace's PolicyReport",
    )
    assert report["summary"]["pass"] == 1 and report["summary"]["fail"] == 0
    policy_team(sec["team"], namespaces=["team-sec-new"], groups=["sec-devs"])
    failed = eventually(
        lambda: [
            r
            for r in get_json("policyreport", "microapp-operator", "-n", sec["ns"])["results"]
            if r["result"] == "fail"
        ],
        timeout=60,
        what="a fail result",
    )
    assert failed[0]["resources"][0]["name"] == "reported"
    assert (
        failed[0]["message"] == f"namespace '{sec['ns']}' is not one of team {sec['team']}'s namespaces (team-sec-new)"
    )
