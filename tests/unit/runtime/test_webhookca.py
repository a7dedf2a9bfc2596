"""The shared webhook CA, the caBundle, the leader label and the starting catalog, on the fake API."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from microapp_operator.api.kinds import LEADER_LABEL, PLATFORMPOLICY, POD, SECRET, WEBHOOK_CONFIGURATION
from microapp_operator.entry import certs
from microapp_operator.runtime import bootstrap, podrole, webhookca
from microapp_operator.runtime.kube import KubeError
from tests.fake_kube import FakeKube

NOW = datetime(2026, 11, 30, tzinfo=UTC)


async def ca(kube: FakeKube, now: datetime = NOW) -> tuple[bytes, bytes]:
    return await webhookca.shared_ca(kube, "ops", "op-webhook-ca", make=certs.new_ca, expiry=certs.not_after, now=now)


async def test_replicas_share_one_ca_and_the_first_creates_it() -> None:
    kube = FakeKube()
    first, second = await ca(kube), await ca(kube)
    assert first == second
    assert [c[0] for c in kube.calls if c[1] == "Secret"] == ["get", "create", "get"]


async def test_a_create_that_loses_the_race_reads_the_winners_ca() -> None:
    kube = FakeKube()
    winner = await ca(kube)
    secret = kube.stored(SECRET, "ops", "op-webhook-ca")
    kube.remove(SECRET, "ops", "op-webhook-ca")  # this replica's read finds nothing, as when both start at once
    real_create = kube.create

    async def racing_create(obj, *, counted=True):  # type: ignore[no-untyped-def]
        kube.put(secret)  # the other replica wrote it first
        return await real_create(obj, counted=counted)

    kube.create = racing_create  # type: ignore[method-assign]
    assert await ca(kube) == winner


async def test_a_ca_near_its_end_is_renewed() -> None:
    kube = FakeKube()
    old = await ca(kube)
    later = certs.not_after(old[0]) - timedelta(days=10)
    assert await ca(kube, later) != old


async def test_inject_writes_only_stale_bundles_and_names_a_missing_configuration() -> None:
    kube = FakeKube()
    pem = (await ca(kube))[0]
    bundle = base64.b64encode(pem).decode()
    kube.put(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "microapp.dev"},
            "webhooks": [
                {"name": "admission.microapp.dev", "clientConfig": {"service": {"name": "s"}}},
                {"name": "admission-scale.microapp.dev", "clientConfig": {"caBundle": bundle}},
            ],
        }
    )
    assert await webhookca.inject(kube, "microapp.dev", pem) == 1
    hooks = kube.stored(WEBHOOK_CONFIGURATION, "", "microapp.dev")["webhooks"]
    assert [h["clientConfig"].get("caBundle") for h in hooks] == [bundle, bundle]
    assert hooks[0]["clientConfig"]["service"] == {"name": "s"}  # the rest is the chart's
    assert await webhookca.inject(kube, "microapp.dev", pem) == 0
    try:
        await webhookca.inject(kube, "absent", pem)
    except KubeError as exc:
        assert exc.status == 404 and "install the chart" in exc.message
    else:
        raise AssertionError("a missing configuration must be named")


def pod(name: str, leader: bool = False) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ops", "labels": {LEADER_LABEL: "true"} if leader else {}},
    }


async def test_the_leader_label_moves_to_the_new_leader_only() -> None:
    kube = FakeKube()
    for p in (pod("old", leader=True), pod("new"), pod("other")):
        kube.put(p)
    await podrole.lead(kube, "ops", "new")
    labelled = [
        n
        for n in ("old", "new", "other")
        if (kube.stored(POD, "ops", n)["metadata"].get("labels") or {}).get(LEADER_LABEL) == "true"
    ]
    assert labelled == ["new"]
    await podrole.stand_by(kube, "ops", "new")
    assert LEADER_LABEL not in (kube.stored(POD, "ops", "new")["metadata"].get("labels") or {})
    await podrole.stand_by(kube, "ops", "gone")  # a Pod already deleted: nothing to take off


async def test_a_sharded_leader_takes_the_label_only_from_its_own_shards_pods() -> None:
    kube = FakeKube()
    for name, shard, leader in (("a-old", "a", True), ("a-new", "a", False), ("b-leader", "b", True)):
        p = pod(name, leader)
        p["metadata"]["labels"]["microapp.dev/shard"] = shard
        kube.put(p)
    await podrole.lead(kube, "ops", "a-new", peers="microapp.dev/shard=a")
    labelled = [
        n
        for n in ("a-old", "a-new", "b-leader")
        if (kube.stored(POD, "ops", n)["metadata"].get("labels") or {}).get(LEADER_LABEL) == "true"
    ]
    assert labelled == ["a-new", "b-leader"]


async def test_the_starting_catalog_is_created_once_and_never_overwritten() -> None:
    kube = FakeKube()
    policy = {
        "apiVersion": "microapp.dev/v1alpha1",
        "kind": "PlatformPolicy",
        "metadata": {"name": "default"},
        "spec": {"teams": []},
    }
    assert await bootstrap.create_missing(kube, [policy]) == ["PlatformPolicy/default"]
    edited = {**policy, "spec": {"teams": [{"name": "edited"}]}}
    kube.put(edited)
    writes = kube.writes
    assert await bootstrap.create_missing(kube, [policy]) == []
    assert kube.writes == writes  # present: read, not a refused create
    assert kube.stored(PLATFORMPOLICY, "", "default")["spec"] == edited["spec"]


async def test_the_ca_secret_is_owned_and_an_older_one_gets_the_owner_added() -> None:
    """helm uninstall must not leave the CA's private key behind: the Secret is owned by the
    chart's ServiceAccount, also when it was created by a version that did not set an owner."""
    kube = FakeKube()
    owner = {"apiVersion": "v1", "kind": "ServiceAccount", "name": "op", "uid": "sa-uid"}
    first = await ca(kube)  # an older operator: no owner
    assert not kube.stored(SECRET, "ops", "op-webhook-ca")["metadata"].get("ownerReferences")
    again = await webhookca.shared_ca(
        kube, "ops", "op-webhook-ca", make=certs.new_ca, expiry=certs.not_after, now=NOW, owner=owner
    )
    assert again == first  # the same CA, now owned
    assert kube.stored(SECRET, "ops", "op-webhook-ca")["metadata"]["ownerReferences"] == [owner]
    writes = len(kube.calls)
    await webhookca.shared_ca(
        kube, "ops", "op-webhook-ca", make=certs.new_ca, expiry=certs.not_after, now=NOW, owner=owner
    )
    assert [c[0] for c in kube.calls[writes:]] == ["get"]  # owned already: nothing written
    fresh = FakeKube()
    await webhookca.shared_ca(
        fresh, "ops", "op-webhook-ca", make=certs.new_ca, expiry=certs.not_after, now=NOW, owner=owner
    )
    assert fresh.stored(SECRET, "ops", "op-webhook-ca")["metadata"]["ownerReferences"] == [owner]


async def test_an_owner_in_another_namespace_is_never_referenced() -> None:
    """The garbage collector counts a namespaced owner in another namespace as absent and would
    delete the object at once."""
    kube = FakeKube()
    kube.put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "op", "namespace": "ops"}})
    ref = await bootstrap.owner_reference(kube, "ops/op")
    assert ref is not None and ref[1]["kind"] == "ServiceAccount" and ref[1]["uid"]
    assert bootstrap.owner_in(ref, "ops") == ref[1] and bootstrap.owner_in(ref, "elsewhere") is None
    assert await bootstrap.owner_reference(kube, "ops/missing") is None
    assert await bootstrap.owner_reference(kube, None) is None
