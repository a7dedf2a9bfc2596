"""The lifecycle carried out by the reconciler over the fake API, with a movable clock."""

from __future__ import annotations

from datetime import timedelta

from microapp_operator import metrics
from microapp_operator.api.kinds import CONFIGMAP, DEPLOYMENT, MICROAPP, PDB, SERVICE
from tests.unit.runtime.harness import NOW, Runtime, microapp

LIFE = {"idleAfter": "1h", "retireAfter": "1d", "notifyBefore": "2h"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # noqa: ANN204
        return self.now


async def run(rt: Runtime, key: tuple[str, str], clock: Clock, *, hours: float) -> dict:
    clock.now = NOW + timedelta(hours=hours)
    rt.manager.world.apps[key] = rt.kube.stored(MICROAPP, *key)
    await rt.reconciler.reconcile(key)
    await rt.settle()
    return (rt.kube.stored(MICROAPP, *key) or {}).get("status", {})


async def test_idle_retiring_retired_and_restored_over_the_fake_api() -> None:
    async with Runtime() as rt:
        clock = Clock()
        rt.manager.reconciler.clock = clock
        sent: list[dict] = []
        rt.manager.reconciler.announce.notifier.send = sent.append  # type: ignore[method-assign]
        key = rt.add(microapp(replicas=2, lifecycle=LIFE))
        st = await run(rt, key, clock, hours=0)
        awake_cost = rt.manager.budgets.ledger.apps[key].amount
        assert st["phase"] in ("Pending", "Running") and rt.kube.stored(PDB, "ns", "shop") is not None
        st = await run(rt, key, clock, hours=0.5)
        assert st["phase"] != "Idle"
        st = await run(rt, key, clock, hours=1.1)
        assert st["phase"] == "Idle" and rt.kube.stored(DEPLOYMENT, "ns", "shop")["spec"]["replicas"] == 0
        assert rt.kube.stored(PDB, "ns", "shop") is None  # dropped while asleep
        assert rt.manager.budgets.ledger.apps[key].amount < awake_cost  # committed cost down
        saved = metrics.REGISTRY.get_sample_value(
            "microapp_lifecycle_saved_monthly_cost", {"namespace": "ns", "name": "shop", "team": "finance"}
        )
        assert saved == float(awake_cost - rt.manager.budgets.ledger.apps[key].amount) > 0
        ready = next(c for c in st["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "Idle")
        st = await run(rt, key, clock, hours=23.5)  # notice: 2h before retirement
        assert st["phase"] == "Retiring" and [e["type"] for e in sent] == ["dev.microapp.lifecycle.retiring"]
        assert sent[0]["data"]["retireAt"] == st["lifecycle"]["retireAt"]
        st = await run(rt, key, clock, hours=26)
        assert st["phase"] == "Retired" and rt.manager.budgets.ledger.apps[key].amount == 0
        archive = rt.kube.stored(CONFIGMAP, "ns", "microapp-archive-shop")
        assert archive is not None and '"replicas": 2' in archive["data"]["spec.json"]
        assert rt.kube.stored(DEPLOYMENT, "ns", "shop") is None and rt.kube.stored(SERVICE, "ns", "shop") is None
        body = rt.kube.stored(MICROAPP, *key)
        body["metadata"]["annotations"]["microapp.dev/restore"] = "2026-12-01T00:00:00Z"
        rt.kube.put(body)
        st = await run(rt, key, clock, hours=27)
        assert st["phase"] != "Retired" and st["lifecycle"]["activitySource"] == "restore"
        assert rt.kube.stored(DEPLOYMENT, "ns", "shop")["spec"]["replicas"] == 2  # the declared count
        assert rt.kube.stored(CONFIGMAP, "ns", "microapp-archive-shop") is None
        assert (
            metrics.REGISTRY.get_sample_value(
                "microapp_lifecycle_saved_monthly_cost", {"namespace": "ns", "name": "shop", "team": "finance"}
            )
            is None
        )
        reasons = [e["reason"] for e in rt.kube.events]
        assert [r for r in reasons if r in ("Idle", "Retiring", "Retired", "Woken")] == [
            "Idle",
            "Retiring",
            "Retired",
            "Woken",
        ]


async def test_delete_on_retire_deletes_the_app_unless_argo_cd_tracks_it() -> None:
    async with Runtime() as rt:
        clock = Clock()
        rt.manager.reconciler.clock = clock
        life = {**LIFE, "onRetire": "Delete"}
        plain = rt.add(microapp("plain", lifecycle=life))
        tracked_body = microapp("tracked", lifecycle=life)
        tracked_body["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = (
            "apps:microapp.dev/MicroApp:ns/tracked"
        )
        tracked = rt.add(tracked_body)
        for hours in (0, 1.1, 23.5, 26):
            for key in (plain, tracked):
                if rt.kube.stored(MICROAPP, *key) is not None:
                    await run(rt, key, clock, hours=hours)
        assert rt.kube.stored(MICROAPP, *plain) is None
        assert rt.kube.stored(MICROAPP, *tracked)["status"]["phase"] == "Retired"
        assert "remove it from Git" in rt.kube.stored(MICROAPP, *tracked)["status"]["lifecycle"]["message"]
        assert rt.kube.stored(CONFIGMAP, "ns", "microapp-archive-tracked") is not None


async def test_dry_run_acts_on_nothing_and_says_what_it_would_do() -> None:
    async with Runtime() as rt:
        clock = Clock()
        rt.manager.reconciler.clock = clock
        rt.manager.policy_event(
            "MODIFIED",
            {
                "metadata": {"name": "default"},
                "spec": {
                    "teams": [{"name": "finance", "groups": ["finance-devs"], "namespaces": ["ns"]}],
                    "lifecycle": {"mode": "DryRun"},
                },
            },
        )
        key = rt.add(microapp(replicas=2, lifecycle=LIFE))
        await run(rt, key, clock, hours=0)
        st = await run(rt, key, clock, hours=30)
        assert st["phase"] != "Idle" and rt.kube.stored(DEPLOYMENT, "ns", "shop")["spec"]["replicas"] == 2
        assert "DryRun: would be" in st["lifecycle"]["message"]
        dry = [e for e in rt.kube.events if e["reason"] == "DryRun"]
        assert len(dry) == 1 and "would be Idle now (no action taken)" in dry[0]["message"]
        await run(rt, key, clock, hours=30.5)
        assert len([e for e in rt.kube.events if e["reason"] == "DryRun"]) == 1  # once per change
