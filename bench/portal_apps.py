"""The portal's "My apps" with 1,000 apps across a user's teams: server time (p50, p95, from the
portal's own Server-Timing header) of the whole page, of the live fragment when something changed
and when nothing did (204), sorted and filtered; the page's weight; and how it stays live (one
fragment polled for the whole list, never a request per app).

Needs the local control plane with `make install` done and no stale admission webhook registered
(the operator need not run). Adds two teams to the PlatformPolicy (its own field manager), with
500 MicroApps in each team's namespace, writes each app a status like the operator's (Running,
Idle, held over budget, stalled; costs and lifecycle dates), gives the teams' group read access,
starts `microapp portal` in local mode as a member of both teams, and removes all of it after.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "operator"))
from common import free_port, kubectl  # noqa: E402

APPS = 1000
REQUESTS = 60
TEAMS = ("bench-a", "bench-b")
MANAGER = "bench-portal-apps"
RESULTS = ROOT / "bench" / "results" / "portal-apps.json"
STAMP = "2026-12-07T08:00:00Z"


def namespace(team: str) -> str:
    return f"{team}-apps"


def policy(teams: tuple[str, ...]) -> str:
    entries = [{"name": t, "groups": [f"{t}-devs"], "namespaces": [namespace(t)]} for t in teams]
    return json.dumps({"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy",
                       "metadata": {"name": "default"}, "spec": {"teams": entries} if entries else {}})  # fmt: skip


def apps(team: str, n: int) -> str:
    items = [
        {
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "MicroApp",
            "metadata": {
                "name": f"app-{i}",
                "namespace": namespace(team),
                "annotations": {"microapp.dev/owner": "bench@example.com", "microapp.dev/team": team},
            },
            "spec": {
                "template": "web-service@^1",
                "image": "registry.internal/bench/app:1.0.0",
                "replicas": 1 + i % 3,
                **({"lifecycle": {"idleAfter": "3d", "retireAfter": "30d"}} if i % 2 else {}),
            },
        }
        for i in range(n)
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message, "observedGeneration": 1,
            "lastTransitionTime": STAMP}  # fmt: skip


def status(name: str, ns: str, i: int) -> dict[str, Any]:
    """A status like the operator writes: most apps Running, some Idle, held or stalled."""
    kind = ("Running", "Running", "Running", "Running", "Running", "Running", "Idle", "Held", "Stalled", "Running")[
        i % 10
    ]
    phase = {"Held": "Pending", "Stalled": "Failed"}.get(kind, kind)
    ready = {
        "Running": condition("Ready", "True", "Available", "all children ready"),
        "Idle": condition("Ready", "True", "Idle", f"asleep since {STAMP}; wakes on traffic"),
        "Held": condition("Ready", "False", "OverBudget", "not rolled out: team is over its budget"),
        "Stalled": condition("Ready", "False", "TemplateNotFound", "spec.template: no such template"),
    }[kind]
    conds = [ready, condition("PolicyCompliant", "True", "Compliant", "complies with PlatformPolicy default"),
             condition("WithinBudget", "False" if kind == "Held" else "True",
                       "OverBudget" if kind == "Held" else "WithinBudget", "estimated 6.54 USD/month"),
             condition("Idle", "True" if kind == "Idle" else "False",
                       "Idle" if kind == "Idle" else "Active", "")]  # fmt: skip
    if kind == "Stalled":
        conds.append(condition("Stalled", "True", "TemplateNotFound", "spec.template: no such template"))
    life = {"lastActivity": f"2026-12-0{1 + i % 6}T10:00:00Z", "activitySource": "traffic", "nextCheck": STAMP}
    if kind == "Idle":
        life["idleSince"] = "2026-12-06T10:00:00Z"
    kinds = (("v1", "ServiceAccount"), ("networking.k8s.io/v1", "NetworkPolicy"), ("apps/v1", "Deployment"),
             ("v1", "Service"))  # fmt: skip
    return {
        "observedGeneration": 1,
        "phase": phase,
        "conditions": conds,
        "replicas": 0 if kind != "Running" else 1 + i % 3,
        "selector": f"microapp.dev/name={name}",
        "url": f"http://{name}.{ns}.svc.cluster.local",
        "template": {"name": "web-service", "version": "1.1.0", "latest": "1.1.0"},
        "cost": {"estimatedMonthly": f"{6.54 * (1 + i % 3) if kind == 'Running' else 0:.2f}", "currency": "USD"},
        "lifecycle": life,
        "inventory": []
        if kind in ("Held", "Stalled")
        else [{"apiVersion": a, "kind": k, "name": name} for a, k in kinds],
    }


async def write_statuses(n_per_team: int) -> None:
    """Each app's status, as the operator would write it (20 at a time)."""
    from microapp_operator.api.kinds import MICROAPP
    from microapp_operator.runtime.kube import Kube

    kube = await Kube.connect()
    gate = asyncio.Semaphore(20)

    async def one(team: str, i: int) -> None:
        ns, name = namespace(team), f"app-{i}"
        async with gate:
            await kube.patch_status(MICROAPP, ns, name, status(name, ns, i))

    try:
        await asyncio.gather(*(one(t, i) for t in TEAMS for i in range(n_per_team)))
    finally:
        await kube.close()


def reader_rbac(team: str) -> str:
    ns = namespace(team)
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "bench-reader", "namespace": ns},
            "rules": [{"apiGroups": ["microapp.dev"], "resources": ["microapps"],
                       "verbs": ["get", "list", "watch"]}]}  # fmt: skip
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "bench-reader", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bench-reader"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                             "name": f"{team}-devs"}]}  # fmt: skip
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [role, binding]})


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return resp.status, resp.read(), dict(resp.headers)


def server_ms(headers: dict[str, str]) -> float:
    return float(headers["Server-Timing"].split("dur=")[1])


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return round(statistics.median(times), 1), round(times[max(0, int(len(times) * 0.95) - 1)], 1)


def timed(base: str, path: str, n: int, expect: int = 200) -> tuple[float, float]:
    times = []
    for _ in range(n):
        code, _, headers = fetch(base + path)
        assert code == expect, (path, code)
        times.append(server_ms(headers))
    return percentiles(times)


def main() -> int:
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".cluster" / "kubeconfig"))
    per_team = APPS // len(TEAMS)
    kubectl(kubeconfig, "apply", "--server-side", f"--field-manager={MANAGER}", "-f", "-", input=policy(TEAMS))
    t0 = time.monotonic()
    for team in TEAMS:
        kubectl(kubeconfig, "create", "namespace", namespace(team), check=False)
        kubectl(kubeconfig, "apply", "-f", "-", input=reader_rbac(team))
        made = kubectl(kubeconfig, "apply", "--server-side", "-f", "-", input=apps(team, per_team), check=False)
        if made.returncode != 0:
            print(f"[bench] could not create the MicroApps: {made.stderr[-500:]}", file=sys.stderr)
            return 1
    os.environ["KUBECONFIG"] = kubeconfig
    asyncio.run(write_statuses(per_team))
    print(f"[bench] portal apps: {APPS} MicroApps with statuses in {len(TEAMS)} teams ({time.monotonic() - t0:.0f}s)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    groups = [f for t in TEAMS for f in ("--dev-group", f"{t}-devs")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "microapp_operator", "portal", "--listen", f"127.0.0.1:{port}",
         "--dev-user", "bench@example.com", *groups],
        env={**os.environ, "KUBECONFIG": kubeconfig}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(120):
            try:
                fetch(base + "/healthz")
                break
            except OSError:
                time.sleep(0.25)
        _, page, first = fetch(base + "/apps")  # the person's first look: lists each namespace as them
        rows = len(re.findall(rb'<th scope="row">', page))
        live = re.findall(rb'hx-get="([^"]+)"[^>]*hx-trigger="every ([^"]+)"', page)
        counted = re.search(rb'class="count">(\d+) of (\d+) apps', page)
        assert counted and int(counted.group(2)) == APPS, f"the page counts {counted and counted.group(0)}, not {APPS}"
        assert len(live) == 1, f"the page polls {len(live)} URLs, not one fragment"
        fragment = live[0][0].decode().replace("&amp;", "&")
        timed(base, "/apps", 5)  # warm up
        page_p50, page_p95 = timed(base, "/apps", REQUESTS)
        changed_p50, changed_p95 = timed(base, re.sub(r"v=[0-9a-f]+", "v=old", fragment), REQUESTS)
        same_p50, same_p95 = timed(base, fragment, REQUESTS, expect=204)
        sorted_p50, sorted_p95 = timed(base, "/apps?sort=cost&order=desc", REQUESTS // 2)
        filtered_p50, filtered_p95 = timed(base, "/apps?q=app-1&health=Healthy", REQUESTS // 2)
        figures = {
            "apps": APPS,
            "teams": len(TEAMS),
            "requests": REQUESTS,
            "first_page_ms": round(server_ms(first), 1),
            "page_p50_ms": page_p50,
            "page_p95_ms": page_p95,
            "fragment_changed_p50_ms": changed_p50,
            "fragment_changed_p95_ms": changed_p95,
            "fragment_unchanged_p50_ms": same_p50,
            "fragment_unchanged_p95_ms": same_p95,
            "sorted_by_cost_p95_ms": sorted_p95,
            "filtered_p95_ms": filtered_p95,
            "page_kb": round(len(page) / 1024, 1),
            "rows_per_page": rows,
            "poll_every": live[0][1].decode(),
            "polled_urls": len(live),
            "sorted_p50_ms": sorted_p50,
            "filtered_p50_ms": filtered_p50,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for team in TEAMS:
            kubectl(kubeconfig, "delete", "namespace", namespace(team), "--wait=false", check=False)
        kubectl(
            kubeconfig, "apply", "--server-side", f"--field-manager={MANAGER}", "-f", "-", input=policy(()), check=False
        )
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"[bench] my apps at {APPS} apps in {len(TEAMS)} teams: first page {figures['first_page_ms']} ms, "
        f"then p50 {page_p50} ms, p95 {page_p95} ms server time; "
        f"live fragment p95 {changed_p95} ms (changed), {same_p95} ms (unchanged: 204); sorted p95 {sorted_p95} ms, "
        f"filtered p95 {filtered_p95} ms; page {figures['page_kb']} KB ({rows} rows a page); "
        f"one fragment polled every {figures['poll_every']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
