"""The portal's live preview with 1,000 apps in the cluster: its server time per answer (p50, p95,
from the portal's own Server-Timing header) over distinct specs, and the weight of a first load
of the catalog and of the new-app form with every asset.

Needs the local control plane with `make install` done (CRDs, default policy, templates) and no
stale admission webhook registered. Creates 1,000 MicroApps in a namespace of its own, starts
`microapp portal` in local mode as a member of team finance, and deletes the namespace after.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import free_port, kubectl  # noqa: E402

APPS = 1000
REQUESTS = 400
NAMESPACE = "bench-portal"
RESULTS = ROOT / "bench" / "results" / "portal-preview.json"


def apps(n: int) -> str:
    items = [
        {
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "MicroApp",
            "metadata": {
                "name": f"app-{i}",
                "namespace": NAMESPACE,
                "annotations": {"microapp.dev/owner": "bench@example.com", "microapp.dev/team": "finance"},
            },
            "spec": {"template": "web-service@^1", "image": "registry.internal/bench/app:1.0.0"},
        }
        for i in range(n)
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def fetch(url: str, data: dict[str, str] | None = None) -> tuple[bytes, dict[str, str]]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as resp:
        return resp.read(), dict(resp.headers)


def first_load(base: str, path: str) -> int:
    """Bytes of the page and every asset it names (stylesheet, scripts)."""
    page, _ = fetch(base + path)
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', page)
    return len(page) + sum(len(fetch(base + a.decode())[0]) for a in assets)


def main() -> int:
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".cluster" / "kubeconfig"))
    kubectl(kubeconfig, "create", "namespace", NAMESPACE, check=False)
    t0 = time.monotonic()
    made = kubectl(kubeconfig, "apply", "--server-side", "-f", "-", input=apps(APPS), check=False)
    if made.returncode != 0:
        print(f"[bench] could not create {APPS} MicroApps: {made.stderr[-500:]}", file=sys.stderr)
        return 1
    print(f"[bench] portal: {APPS} MicroApps in namespace {NAMESPACE} ({time.monotonic() - t0:.0f}s)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "microapp_operator", "portal", "--listen", f"127.0.0.1:{port}",
         "--dev-user", "bench@example.com", "--dev-group", "finance-devs"],
        env={**os.environ, "KUBECONFIG": kubeconfig}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(60):
            try:
                fetch(base + "/healthz")
                break
            except OSError:
                time.sleep(0.25)
        page, _ = fetch(base + "/new/web-service")
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
        form = {"csrf": csrf, "name": "shop", "namespace": "team-finance", "owner": "bench@example.com",
                "image": "registry.internal/finance/shop:1.0.0", "cpu": "100m", "memory": "128Mi",
                "expose": "internal", "cost_center": "CC-1"}  # fmt: skip
        times = []
        for i in range(REQUESTS):  # distinct specs: no memo helps
            _, headers = fetch(
                base + "/new/web-service/preview", {**form, "replicas": str(1 + i % 9), "cpu": f"{100 + i}m"}
            )
            times.append(float(headers["Server-Timing"].split("dur=")[1]))
        times.sort()
        figures = {
            "apps": APPS,
            "requests": REQUESTS,
            "preview_p50_ms": round(statistics.median(times), 2),
            "preview_p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
            "catalog_first_load_kb": round(first_load(base, "/") / 1024, 1),
            "form_first_load_kb": round(first_load(base, "/new/web-service") / 1024, 1),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        kubectl(kubeconfig, "delete", "namespace", NAMESPACE, "--wait=false", check=False)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"[bench] portal preview at {APPS} apps: p50 {figures['preview_p50_ms']} ms, "
        f"p95 {figures['preview_p95_ms']} ms server time ({REQUESTS} distinct specs); "
        f"first load: catalog {figures['catalog_first_load_kb']} KB, "
        f"form {figures['form_first_load_kb']} KB (every asset included)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
