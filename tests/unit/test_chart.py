"""The Helm chart, rendered by Helm itself (built from the Go module proxy by hack/build-tool.sh):
its RBAC covers what the operator does and nothing more, its Deployment's arguments are ones
`microapp run` accepts, its webhooks are the ones the operator answers, its values are checked
by values.schema.json, and manifests/install/ is what `helm template` renders."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from microapp_operator.api import chartvalues
from microapp_operator.api.kinds import CHILDREN
from microapp_operator.core import shard as shard_rules
from microapp_operator.core.shard import SHARD_LABEL, Shard
from microapp_operator.entry import cli, handlers

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "microapp-operator"
CHILD_VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}
# Every toggle flipped from its default, in one set of values.
FLIPPED = {
    "replicaCount": 1,
    "crds": {"enabled": False, "keep": False},
    "leaderElection": {"enabled": False},
    "webhook": {"certManager": {"enabled": True}},
    "defaultPolicy": {"enabled": False},
    "builtinTemplates": {"enabled": False},
    "dashboards": {"enabled": False},
    "metrics": {"podMonitor": {"enabled": True}, "serviceMonitor": {"enabled": True}},
    "networkPolicy": {"enabled": True},
    "hostNetwork": True,
    "serviceAccount": {"create": False, "name": "ops"},
    "operator": {"namespaces": ["a", "b"], "logFormat": "text"},
}
# Sharded: one Deployment, Lease, webhook Service and configuration per shard (core/shard.py).
SHARDS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def helm() -> str:
    proc = subprocess.run([str(ROOT / "hack" / "build-tool.sh"), "helm"], capture_output=True, text=True)
    assert proc.returncode == 0, f"Helm did not build:\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


def render(helm: str, values: dict[str, Any] | None = None, tmp: Path | None = None) -> list[dict[str, Any]]:
    args = [helm, "template", "microapp-operator", str(CHART), "--namespace", "microapp-system"]
    if values is not None:
        assert tmp is not None
        (tmp / "values.yaml").write_text(yaml.safe_dump(values))
        args += ["-f", str(tmp / "values.yaml")]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def allowed(rules: list[dict[str, Any]], group: str, resource: str, *, name: str | None = None) -> set[str]:
    verbs: set[str] = set()
    for rule in rules:
        names = rule.get("resourceNames")
        if group in rule["apiGroups"] and resource in rule["resources"] and (not names or name in names):
            verbs |= set(rule["verbs"])
    return verbs


@pytest.fixture(scope="module")
def default(helm: str) -> list[dict[str, Any]]:
    return render(helm)


@pytest.fixture(scope="module")
def cluster_rules(default: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(default, "ClusterRole")[0]["rules"]


def test_every_child_kind_can_be_applied_watched_and_pruned(cluster_rules: list[dict[str, Any]]) -> None:
    for res in CHILDREN:
        assert CHILD_VERBS <= allowed(cluster_rules, res.group, res.plural), (res.kind, res.api_version)


def test_microapps_verbs(cluster_rules: list[dict[str, Any]]) -> None:
    # update/patch only so that it may grant them to editors (RBAC escalation prevention); the
    # operator itself never writes a MicroApp's spec or metadata (tests/integration/test_operator.py).
    # delete: the lifecycle's onRetire: Delete.
    assert allowed(cluster_rules, "microapp.dev", "microapps") == {"get", "list", "watch", "update", "patch", "delete"}
    assert allowed(cluster_rules, "microapp.dev", "microapps/status") == {"get", "list", "watch", "patch"}
    assert allowed(cluster_rules, "microapp.dev", "apptemplates") == {"get", "list", "watch", "create"}
    assert "create" in allowed(cluster_rules, "", "events")


def test_no_wildcards_secrets_or_escalation_anywhere(default: list[dict[str, Any]]) -> None:
    for role in of_kind(default, "ClusterRole") + of_kind(default, "Role"):
        for rule in role["rules"]:
            assert not {"escalate", "bind", "impersonate", "*"} & set(rule["verbs"]), rule
            assert "*" not in rule["resources"] and "*" not in rule["apiGroups"], rule
    for rule in of_kind(default, "ClusterRole")[0]["rules"]:
        assert "secrets" not in rule["resources"], rule


def test_namespaced_role_names_its_objects(default: list[dict[str, Any]]) -> None:
    """Only `create` (RBAC cannot name an object before it exists) and the leader label's Pod
    list/patch are unnamed; the Lease and the CA Secret are named."""
    role = of_kind(default, "Role")[0]
    assert role["metadata"]["namespace"] == "microapp-system"
    rules = role["rules"]
    assert allowed(rules, "", "secrets", name="microapp-operator-webhook-ca") == {"create", "get", "update"}
    assert allowed(rules, "", "secrets", name="some-other-secret") == {"create"}
    assert allowed(rules, "coordination.k8s.io", "leases", name="microapp-operator") == {"create", "get", "update"}
    assert allowed(rules, "coordination.k8s.io", "leases", name="other") == {"create"}
    assert allowed(rules, "", "pods", name="any") == {"list", "patch"}


def test_operator_holds_every_permission_it_grants(cluster_rules: list[dict[str, Any]]) -> None:
    """RBAC refuses to let anyone create a Role granting more than they hold (no escalate verb)."""
    from microapp_operator.core import catalog, plan

    app = {
        "metadata": {
            "name": "a",
            "namespace": "n",
            "uid": "u",
            "annotations": {"microapp.dev/editors": "user:bob", "microapp.dev/viewers": "user:eve"},
        },
        "spec": {
            "template": "web-service",
            "image": "r/x:1",
            "expose": "public",
            "host": "a.example.com",
            "parameters": {"autoscale": {"max": 3, "min": 2}},
        },
    }
    roles = [o for o in plan.desired(plan.parse(app), catalog.builtin()).objects if o["kind"] == "Role"]
    assert {r["metadata"]["name"] for r in roles} == {"a-editor", "a-viewer"}
    for role in roles:
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    assert set(rule["verbs"]) <= allowed(cluster_rules, group, resource), (
                        group,
                        resource,
                        rule["verbs"],
                    )


def run_args(docs: list[dict[str, Any]]) -> list[str]:
    container = of_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    return [a.replace("$(POD_IP)", "10.0.0.7") for a in container["args"]]


@pytest.mark.parametrize("flipped", [False, True], ids=["defaults", "every-toggle-flipped"])
def test_deployment_args_are_accepted_by_microapp_run(helm: str, tmp_path: Path, flipped: bool) -> None:
    docs = render(helm, FLIPPED if flipped else None, tmp_path)
    args = cli.build_parser().parse_args(["run", *run_args(docs)])
    assert args.func.__module__.endswith("entry.run")
    if flipped:
        assert args.namespace == ["a", "b"] and args.webhook_tls_dir == "/tls" and not args.leader_elect
        assert args.webhook_addr == "10.0.0.7"
    else:
        assert args.leader_elect and args.webhook_ca_secret == "microapp-system/microapp-operator-webhook-ca"
        assert args.webhook_configuration == "microapp.dev" and args.create_builtin_templates


def test_webhooks_are_the_ones_the_operator_answers(default: list[dict[str, Any]]) -> None:
    config = of_kind(default, "ValidatingWebhookConfiguration")[0]
    hooks = {w["name"]: w for w in config["webhooks"]}
    assert set(hooks) == {f"{hid}.{config['metadata']['name']}" for hid in handlers.ADMISSION}
    for hid, (_, operations) in handlers.ADMISSION.items():
        hook = hooks[f"{hid}.microapp.dev"]
        assert hook["clientConfig"]["service"] == {
            "namespace": "microapp-system",
            "name": "microapp-operator-webhook",
            "path": f"/{hid}",
            "port": 443,
        }
        assert set(hook["rules"][0]["operations"]) == operations
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "NoneOnDryRun"
    assert hooks["admission-scale.microapp.dev"]["rules"][0]["resources"] == ["microapps/scale"]
    service = [s for s in of_kind(default, "Service") if s["metadata"]["name"] == "microapp-operator-webhook"][0]
    assert service["spec"]["selector"]["microapp.dev/leader"] == "true"


def test_crds_are_kept_and_pdb_only_with_replicas(helm: str, default: list[dict[str, Any]], tmp_path: Path) -> None:
    crds = of_kind(default, "CustomResourceDefinition")
    assert len(crds) == 4
    assert all(c["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for c in crds)
    assert of_kind(default, "PodDisruptionBudget")
    flipped = render(helm, FLIPPED, tmp_path)
    assert not of_kind(flipped, "CustomResourceDefinition") and not of_kind(flipped, "PodDisruptionBudget")
    assert {d["kind"] for d in flipped} >= {"PodMonitor", "ServiceMonitor", "NetworkPolicy", "Certificate", "Issuer"}


def test_values_match_the_schema_generated_from_the_types() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema == json.loads(chartvalues.render()), "run 'make crds' and commit"
    jsonschema.validate(yaml.safe_load((CHART / "values.yaml").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**yaml.safe_load((CHART / "values.yaml").read_text()), "replicas": 2}, schema)


def test_wrong_values_fail_with_the_field_named(helm: str, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("webhook: {prot: 1}\nreplicaCount: -1\n")
    proc = subprocess.run(
        [helm, "template", "x", str(CHART), "-f", str(tmp_path / "bad.yaml")], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "/replicaCount" in proc.stderr and "prot" in proc.stderr


def test_lint_strict(helm: str) -> None:
    proc = subprocess.run([helm, "lint", "--strict", str(CHART)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_policy_file_is_the_one_make_install_applies() -> None:
    assert (CHART / "files/policy/platformpolicy-default.yaml").read_text() == (
        ROOT / "manifests/policy/platformpolicy-default.yaml"
    ).read_text(), "run 'make crds' and commit"


def test_install_manifests_equal_helm_template(default: list[dict[str, Any]]) -> None:
    """manifests/install/ is the chart with its default values (tests/delivery builds it with
    `kubectl kustomize` and applies it with a server-side dry run)."""
    docs = [d for d in yaml.safe_load_all((ROOT / "manifests/install/microapp-operator.yaml").read_text()) if d]
    assert docs == default, "manifests/install/ is stale: run 'make manifests' and commit"
    kustomization = yaml.safe_load((ROOT / "manifests/install/kustomization.yaml").read_text())
    assert kustomization["resources"] == ["namespace.yaml", "microapp-operator.yaml"]


# --- shards -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sharded(helm: str, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return render(helm, {"shards": SHARDS}, tmp_path_factory.mktemp("sharded"))


def named(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


def flags(container: dict[str, Any]) -> dict[str, str]:
    return dict(a.split("=", 1) if "=" in a else (a, "") for a in container["args"])


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A label selector as the API server evaluates it (None: everything)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        op, present = e["operator"], e["key"] in labels
        if (
            (op == "In" and not (present and labels[e["key"]] in e["values"]))
            or (op == "NotIn" and present and labels[e["key"]] in e["values"])
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def and_selectors(*selectors: dict[str, Any] | None) -> dict[str, Any] | None:
    """Selectors ANDed: their matchLabels and matchExpressions together (None: no selector)."""
    labels = {k: v for s in selectors for k, v in ((s or {}).get("matchLabels") or {}).items()}
    expressions = [e for s in selectors for e in ((s or {}).get("matchExpressions") or [])]
    out = ({"matchLabels": labels} if labels else {}) | ({"matchExpressions": expressions} if expressions else {})
    return out or None


def test_shard_name_rule_is_core_shards() -> None:
    assert chartvalues.SHARD_NAME_PATTERN == shard_rules._NAME.pattern
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["shards"] == []
    jsonschema.validate({**values, "shards": SHARDS}, schema)
    for bad in (["a", "a"], ["A_b"], ["-a"], ["x" * 43]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**values, "shards": bad}, schema)


def test_default_render_is_not_sharded(default: list[dict[str, Any]], cluster_rules: list[dict[str, Any]]) -> None:
    """No shard flags, labels, selectors or namespace writes without `shards` (and the whole
    default render stays manifests/install/: test_install_manifests_equal_helm_template)."""
    (deployment,) = of_kind(default, "Deployment")
    assert deployment["metadata"]["name"] == "microapp-operator"
    args = flags(deployment["spec"]["template"]["spec"]["containers"][0])
    assert not {"--shard", "--shards", "--shard-lease-prefix"} & set(args)
    assert args["--leader-elect-lease"] == "microapp-system/microapp-operator"
    operator_objects = [
        d
        for d in default
        if d["kind"] in ("Deployment", "Service", "ValidatingWebhookConfiguration", "PodDisruptionBudget")
    ]
    assert SHARD_LABEL not in json.dumps(operator_objects)
    assert allowed(cluster_rules, "", "namespaces") == {"get", "list", "watch"}


def test_sharded_deployments(sharded: list[dict[str, Any]]) -> None:
    deployments = named(sharded, "Deployment")
    assert set(deployments) == {f"microapp-operator-{s}" for s in SHARDS}
    pods = {s: deployments[f"microapp-operator-{s}"]["spec"]["template"]["metadata"]["labels"] for s in SHARDS}
    for s in SHARDS:
        deployment = deployments[f"microapp-operator-{s}"]
        spec = deployment["spec"]
        assert pods[s][SHARD_LABEL] == s and spec["selector"]["matchLabels"][SHARD_LABEL] == s
        # no shard's Deployment selects another shard's Pods
        assert [o for o in SHARDS if matches(spec["selector"], pods[o])] == [s]
        args = flags(spec["template"]["spec"]["containers"][0])
        assert args["--shard"] == s and args["--shards"] == "a,b,c"
        assert args["--shard-lease-prefix"] == "microapp-system/microapp-operator"
        assert "--leader-elect" in args and args["--leader-elect-lease"] == f"microapp-system/microapp-operator-{s}"
        assert args["--webhook-configuration"] == f"microapp.dev-{s}"
        assert args["--webhook-service"] == f"microapp-system/microapp-operator-webhook-{s}"
        assert args["--webhook-ca-secret"] == "microapp-system/microapp-operator-webhook-ca"  # one CA for all
        # the flags make a valid shard, whose own Lease is the one it elects on
        parsed = Shard.parse(args["--shard"], args["--shards"].split(","))
        namespace, prefix = args["--shard-lease-prefix"].split("/")
        assert f"{namespace}/{parsed.lease_of(prefix, s)}" == args["--leader-elect-lease"]
        # the starting catalog is created by the first shard only
        first = s == SHARDS[0]
        assert ("--create-builtin-templates" in args) == first
        assert ("--create-default-policy" in args) == first


def test_sharded_args_are_accepted_by_microapp_run(
    sharded: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = cli.build_parser()
    if parser.parse_known_args(["run", "--shard=a", "--shards=a,b"])[1]:
        pytest.skip("microapp run has no --shard/--shards yet")
    from microapp_operator.entry import run

    monkeypatch.setenv("POD_NAMESPACE", "microapp-system")
    for deployment in of_kind(sharded, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        args = parser.parse_args(["run", *(a.replace("$(POD_IP)", "10.0.0.7") for a in container["args"])])
        assert args.leader_elect and args.webhook_configuration.startswith("microapp.dev-")
        args.create_default_policy = None  # a file in the Pod (the catalog ConfigMap)
        cfg = run.config(args, asyncio.Event())  # the shard flags agree with each other and with the Lease
        assert cfg.shard.name == args.shard and cfg.lease == args.leader_elect_lease


def test_sharded_services_and_webhooks(default: list[dict[str, Any]], sharded: list[dict[str, Any]]) -> None:
    """Per shard a webhook Service (its leader only) and a configuration equal to the unsharded one
    but for its name, its Service and a namespaceSelector by the rule of Shard.namespace_selector()
    (ANDed with the unsharded configuration's own selector, if it has one)."""
    services = named(sharded, "Service")
    assert set(services) == {f"microapp-operator-webhook-{s}" for s in SHARDS} | {"microapp-operator-metrics"}
    pods = {
        d["metadata"]["labels"][SHARD_LABEL]: d["spec"]["template"]["metadata"]["labels"]
        for d in of_kind(sharded, "Deployment")
    }
    base_service = named(default, "Service")["microapp-operator-webhook"]["spec"]["selector"]
    for s in SHARDS:
        selector = services[f"microapp-operator-webhook-{s}"]["spec"]["selector"]
        assert selector == {**base_service, SHARD_LABEL: s}
        leaders = {o: {**pods[o], "microapp.dev/leader": "true"} for o in SHARDS}
        assert [o for o in SHARDS if matches({"matchLabels": selector}, leaders[o])] == [s]
    assert all(
        matches({"matchLabels": services["microapp-operator-metrics"]["spec"]["selector"]}, p) for p in pods.values()
    )

    (base,) = of_kind(default, "ValidatingWebhookConfiguration")
    base_hooks = {w["name"]: w for w in base["webhooks"]}
    configs = named(sharded, "ValidatingWebhookConfiguration")
    assert set(configs) == {f"microapp.dev-{s}" for s in SHARDS}
    for s in SHARDS:
        expected = Shard.parse(s, SHARDS).namespace_selector()
        hooks = {w["name"]: w for w in configs[f"microapp.dev-{s}"]["webhooks"]}
        assert set(hooks) == {f"{hid}.microapp.dev-{s}" for hid in handlers.ADMISSION}
        for hid in handlers.ADMISSION:
            hook, was = hooks[f"{hid}.microapp.dev-{s}"], base_hooks[f"{hid}.microapp.dev"]
            assert hook["namespaceSelector"] == and_selectors(was.get("namespaceSelector"), expected)
            assert hook["clientConfig"]["service"] == {
                **was["clientConfig"]["service"],
                "name": f"microapp-operator-webhook-{s}",
            }
            rest = {k: v for k, v in hook.items() if k not in ("name", "clientConfig", "namespaceSelector")}
            assert rest == {k: v for k, v in was.items() if k not in ("name", "clientConfig", "namespaceSelector")}
    # every namespace is admitted by exactly one shard: the one core/shard.py gives it
    for labels in (
        {},
        {"team": "x"},
        {SHARD_LABEL: "a"},
        {SHARD_LABEL: "b"},
        {SHARD_LABEL: "c"},
        {SHARD_LABEL: "unknown"},
        {SHARD_LABEL: ""},
    ):
        admitting = [
            s for s in SHARDS if matches(configs[f"microapp.dev-{s}"]["webhooks"][0].get("namespaceSelector"), labels)
        ]
        assert admitting == [Shard.parse("a", SHARDS).shard_of(labels)], labels


def test_one_shard_admits_every_namespace(helm: str, tmp_path: Path) -> None:
    docs = render(helm, {"shards": ["only"]}, tmp_path)
    (config,) = of_kind(docs, "ValidatingWebhookConfiguration")
    assert Shard.parse("only", ["only"]).namespace_selector() is None
    assert all("namespaceSelector" not in w for w in config["webhooks"])


def test_sharded_rbac(sharded: list[dict[str, Any]]) -> None:
    rules = of_kind(sharded, "Role")[0]["rules"]
    for s in SHARDS:
        lease = f"microapp-operator-{s}"
        assert allowed(rules, "coordination.k8s.io", "leases", name=lease) == {"create", "get", "update"}
    assert allowed(rules, "coordination.k8s.io", "leases", name="microapp-operator") == {"create"}
    assert allowed(rules, "", "secrets", name="microapp-operator-webhook-ca") == {"create", "get", "update"}
    cluster = of_kind(sharded, "ClusterRole")[0]["rules"]
    assert allowed(cluster, "", "namespaces") == {"get", "list", "watch", "patch"}
    for s in SHARDS:
        assert allowed(
            cluster, "admissionregistration.k8s.io", "validatingwebhookconfigurations", name=f"microapp.dev-{s}"
        ) == {"get", "patch"}
    assert not allowed(cluster, "admissionregistration.k8s.io", "validatingwebhookconfigurations", name="microapp.dev")


def test_sharded_pdbs_monitors_network_policy_and_certificate(helm: str, tmp_path: Path) -> None:
    docs = render(
        helm,
        {
            "shards": SHARDS,
            "webhook": {"certManager": {"enabled": True}},
            "networkPolicy": {"enabled": True},
            "metrics": {"podMonitor": {"enabled": True}, "serviceMonitor": {"enabled": True}},
        },
        tmp_path,
    )
    pods = {
        d["metadata"]["labels"][SHARD_LABEL]: d["spec"]["template"]["metadata"]["labels"]
        for d in of_kind(docs, "Deployment")
    }
    pdbs = named(docs, "PodDisruptionBudget")
    assert set(pdbs) == {f"microapp-operator-{s}" for s in SHARDS}
    for s in SHARDS:
        assert [o for o in SHARDS if matches(pdbs[f"microapp-operator-{s}"]["spec"]["selector"], pods[o])] == [s]
    for kind, path in (("NetworkPolicy", ("spec", "podSelector")), ("PodMonitor", ("spec", "selector"))):
        selector = of_kind(docs, kind)[0]
        for key in path:
            selector = selector[key]
        assert all(matches(selector, p) for p in pods.values()), kind  # every shard's Pods
    (certificate,) = of_kind(docs, "Certificate")
    assert certificate["spec"]["dnsNames"] == [f"microapp-operator-webhook-{s}.microapp-system.svc" for s in SHARDS]
    for config in of_kind(docs, "ValidatingWebhookConfiguration"):
        assert (
            config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
            == "microapp-system/microapp-operator-webhook"
        )
    for deployment in of_kind(docs, "Deployment"):
        assert "--webhook-tls-dir" in flags(deployment["spec"]["template"]["spec"]["containers"][0])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("shards={A_b}", "/shards/0"),
        ("shards={a,b,a}", "/shards"),
        ("shards={a,b},leaderElection.enabled=false", "shards needs leaderElection.enabled=true"),
        ("shards={" + "x" * 40 + "}", "shards: the webhook Service microapp-operator-webhook-" + "x" * 40),
    ],
    ids=["not-a-label", "duplicate", "no-leader-election", "service-name-too-long"],
)
def test_wrong_shards_fail_with_the_field_named(helm: str, values: str, message: str) -> None:
    proc = subprocess.run(
        [helm, "template", "microapp-operator", str(CHART), "--set", values], capture_output=True, text=True
    )
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_lint_strict_sharded(helm: str) -> None:
    proc = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "--set", "shards={a,b,c}"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
