"""`microapp explain NAME` on the real control plane: what a person reads about a running app
(children, Pods, cost against both budgets, lifecycle dates, the commands to run), a stalled one,
the JSON, a missing app, a viewer who may read only part of it, and the terminal itself: under
a pty at 80 columns the screen is coloured and fits; piped, it is plain text."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from microapp_operator.entry import cluster, explaincmd
from microapp_operator.presentation import explain, html
from tests.helpers import KUBECONFIG, eventually, get_json, kubectl, microapp

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HANG = " " * 15  # where the text beside a label begins


def cli(
    *args: str, kubeconfig: Path = KUBECONFIG, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "microapp_operator", "explain", *args],
        capture_output=True,
        text=True,
        env=_env(kubeconfig, env),
        timeout=120,
    )


def _env(kubeconfig: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    return {**env, "KUBECONFIG": str(kubeconfig), "TERM": "xterm-256color", **(extra or {})}


def flat(out: str) -> str:
    """The screen with wrapped lines and wrapped commands joined again."""
    return re.sub(r"\n {15}(?:  )?(?=[^ -])", " ", out.replace(" \\\n", "\n"))


def under_pty(*args: str, columns: int = 80, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The command's output as a terminal of ``columns`` columns receives it (a real pty)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "microapp_operator", "explain", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=_env(KUBECONFIG, env),
        close_fds=True,
    )
    os.close(follower)
    chunks, deadline = [], time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the command ended and closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(leader)
    return proc.wait(timeout=30), b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.fixture(scope="module")
def shop(operator: object) -> Iterator[tuple[str, str]]:
    """A running app of its own team, with an app limit and a TeamBudget: (namespace, team)."""
    ns, team = f"t-{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", ns)
    kubectl("label", "namespace", ns, "microapp.dev/test=true")
    policy = {"apiVersion": "microapp.dev/v1alpha1", "kind": "PlatformPolicy", "metadata": {"name": "default"}}
    kubectl(
        "apply",
        "--server-side",
        f"--field-manager=test-{team}",
        "-f",
        "-",
        input={**policy, "spec": {"teams": [{"name": team, "groups": [f"{team}-devs"], "namespaces": [ns]}]}},
    )
    kubectl(
        "apply",
        "-f",
        "-",
        input={
            "apiVersion": "microapp.dev/v1alpha1",
            "kind": "TeamBudget",
            "metadata": {"name": team},
            "spec": {"team": team, "monthlyLimit": "100"},
        },
    )
    body = microapp("shop", ns, team=team, resources={"cpu": "250m", "memory": "256Mi"}, budget={"monthlyLimit": "10"})
    kubectl("apply", "-f", "-", input=body)
    kubectl("wait", "--for=condition=Ready", "--timeout=90s", "-n", ns, "mapp/shop", timeout=100)
    eventually(
        lambda: (get_json("teambudget", team).get("status") or {}).get("committedMonthly") == "6.54",
        what="the TeamBudget to count the app",
    )
    yield ns, team
    kubectl("delete", "namespace", ns, "--wait=false", check=False)
    kubectl("delete", "teambudget", team, "--ignore-not-found", "--wait=false", check=False)
    kubectl(
        "apply", "--server-side", f"--field-manager=test-{team}", "-f", "-", input={**policy, "spec": {}}, check=False
    )


def test_a_running_app_on_one_screen(shop: tuple[str, str]) -> None:
    ns, team = shop
    st = get_json("mapp", "shop", "-n", ns)["status"]
    created = st["lifecycle"]["lastActivity"]
    # (a heartbeat in the same second as the recorded activity would not be newer than it)
    time.sleep(
        max(
            0.0,
            (
                datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(seconds=1.2) - datetime.now(UTC)
            ).total_seconds(),
        )
    )
    proc = cli("shop", "-n", ns, "--color", "never")
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    out = proc.stdout
    assert out.startswith(
        f"MicroApp {ns}/shop: Running\nStatus\n"
        "  Ready        True (Available): Deployment shop: 1 of 1 Pods available\n"
        "  template     web-service 1.1.0 (spec.template web-service@^1)\n"
        f"  url          http://shop.{ns}.svc.cluster.local\n"
        "  owner        alice@example.com\n"
    ), out
    children = "".join(
        f"  Ready        {e['kind']} {e['name']}"
        + (": 1 of 1 Pods available" if e["kind"] == "Deployment" else "")
        + "\n"
        for e in st["inventory"]
    )
    assert f"Children ({len(st['inventory'])})\n{children}" in out
    pod = get_json("pods", "-n", ns, "-l", "microapp.dev/name=shop")["items"][0]["metadata"]["name"]
    assert f"Pods (1)\n  Ready        1 running, ready, never restarted: {pod}\n" in out
    events = re.search(r"\nEvents\n((?:  Normal       \w+ \w+/\S+, \w+ ago: .*\n)+)Cost\n", flat(out))
    assert events and "MicroApp/shop" in events.group(1), out
    assert "  estimate     6.54 USD/month, 65% of the app's limit of 10.00\n" in out
    assert (
        f"  team         {team}: 6.54 of 100.00 USD/month committed (7%), 93.46 left (TeamBudget {team}: "
        "enforcement Deny, warning at 80%)\n"
    ) in flat(out)
    assert (
        f"  WithinBudget True (WithinBudget): estimated 6.54 USD/month, within team {team}'s budget of 100.00\n"
    ) in flat(out)
    assert "Policy\n  compliant    True (Compliant): complies with PlatformPolicy default\n" in out
    assert (
        "  rules        idled after 14d without activity, retired 30d later (Archive), notice 3d ahead\n"
        f"  last active  {created} ("
    ) in flat(out)
    assert re.search(r"  idles at     \S+Z \(in 1[34]d unless used\)\n", out), out
    keep = re.search(
        rf"  keep alive   (kubectl annotate microapp shop -n {ns} microapp.dev/last-activity=\S+Z "
        r"--overwrite)\n",
        flat(out),
    )
    assert keep, out
    assert out.endswith(
        "Next\n  run          microapp diff FILE\n"
        "               - before your next kubectl apply: what it would change in the\n"
        "                 cluster\n"
    ), out

    # The keep-alive command works as printed: the heartbeat becomes the app's last activity.
    stamp = keep.group(1).split("=")[1].split()[0]
    kubectl(*keep.group(1).split()[1:])
    eventually(
        lambda: get_json("mapp", "shop", "-n", ns)["status"]["lifecycle"].get("activitySource") == "annotation",
        what="the heartbeat to count as activity",
    )
    again = cli("shop", "-n", ns, "--color", "never").stdout
    assert f"  last active  {stamp} (" in again and ", annotation)\n" in again, again


def test_json_has_every_part(shop: tuple[str, str]) -> None:
    ns, team = shop
    proc = cli("shop", "-n", ns, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["namespace"], data["name"], data["phase"], data["tone"]) == (ns, "shop", "Running", "ok")
    assert {c["type"]: c["status"] for c in data["conditions"]} == {
        "Ready": "True",
        "PolicyCompliant": "True",
        "WithinBudget": "True",
        "Idle": "False",
    }
    assert data["children"] and {c["state"] for c in data["children"]} == {"Ready"}
    assert [(p["phase"], p["ready"], p["restarts"]) for p in data["pods"]] == [("Running", True, 0)]
    assert {k: data["cost"][k] for k in ("estimate", "currency", "appLimit", "appShare", "team")} == {
        "estimate": "6.54",
        "currency": "USD",
        "appLimit": "10.00",
        "appShare": "65%",
        "team": team,
    }
    assert data["cost"]["teamBudget"].startswith(f"{team}: 6.54 of 100.00 USD/month committed (7%)")
    assert data["lifecycle"]["state"] == "Active" and data["lifecycle"]["keepAlive"].startswith(
        f"kubectl annotate microapp shop -n {ns} microapp.dev/last-activity="
    )
    assert data["next"]["command"] == "microapp diff FILE" and data["unreadable"] == []
    assert [(a["name"], a["annotation"]) for a in data["lifecycle"]["actions"]] == [
        ("keep-alive", "microapp.dev/last-activity"),
        ("snooze", "microapp.dev/snooze-until"),
    ]
    assert data["lifecycle"]["actions"][0]["command"] == data["lifecycle"]["keepAlive"]
    figures = data["cost"]["teamFigures"]
    assert (figures["team"], figures["limit"], figures["committed"], figures["enforcement"]) == (
        team,
        "100.00",
        "6.54",
        "Deny",
    )
    assert "\x1b" not in proc.stdout


def test_under_a_terminal_of_80_columns_it_is_coloured_and_fits(shop: tuple[str, str]) -> None:
    ns, _ = shop
    code, out = under_pty("shop", "-n", ns)
    assert code == 0, out
    assert f"\x1b[1mMicroApp {ns}/shop\x1b[0m: \x1b[32mRunning\x1b[0m\n" in out, out
    assert "  \x1b[32mReady\x1b[0m        True (Available)" in out and "\x1b[1mNext\x1b[0m\n" in out
    plain = ANSI.sub("", out)
    too_wide = [line for line in plain.splitlines() if len(line) > 80]
    assert not too_wide, too_wide
    assert max(len(line) for line in plain.splitlines()) > 70  # laid out for 80 columns, not fewer
    piped = cli("shop", "-n", ns)  # auto: not a terminal, so no colour; otherwise the same screen
    assert piped.returncode == 0 and "\x1b" not in piped.stdout
    strip = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d+[smhd] ago|in \d+[smhd]")  # the clock moves on
    assert strip.sub("T", piped.stdout).split() == strip.sub("T", plain).split()
    code, no_colour = under_pty("shop", "-n", ns, env={"NO_COLOR": "1"})
    assert code == 0 and "\x1b" not in no_colour and no_colour.startswith(f"MicroApp {ns}/shop: Running\n")


def test_a_stalled_app_names_the_problem_and_the_fix(operator: object, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=microapp("lost", namespace, template="no-such-template"))
    eventually(
        lambda: any(
            c["type"] == "Stalled" and c["status"] == "True"
            for c in (get_json("mapp", "lost", "-n", namespace).get("status") or {}).get("conditions") or []
        ),
        what="the app to stall",
    )
    proc = cli("lost", "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    out = flat(proc.stdout)
    assert out.startswith(
        f"MicroApp {namespace}/lost: Failed\nStatus\n"
        "  Ready        False (TemplateNotFound): spec.template 'no-such-template': no template named "
        "'no-such-template' in the catalog"
    ), out
    assert "  template     no-such-template (not resolved)\n" in out
    assert f"Children (0)\n{HANG}none applied yet\n" in proc.stdout
    assert "Warning      TemplateNotFound MicroApp/lost" in out
    assert out.endswith(
        "Next\n  run          microapp catalog\n"
        "               - spec.template names no template version of the catalog: pick one it "
        "lists, fix spec.template, then kubectl apply -f FILE\n"
    ), out


def test_a_missing_app_exits_1_and_says_where_to_look(crds: None, namespace: str) -> None:
    proc = cli("nope", "-n", namespace)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"microapp: MicroApp {namespace}/nope not found; kubectl get microapps -n {namespace} "
        "lists the apps there (-n NAMESPACE for another namespace)\n"
    )


def test_an_unreachable_cluster_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    config = yaml.safe_load(KUBECONFIG.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    proc = cli("shop", "-n", "default", kubeconfig=tmp_path / "kubeconfig")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("microapp: cannot read MicroApp default/shop from the cluster of $KUBECONFIG ("), (
        proc.stderr
    )


def _viewer_kubeconfig(ns: str, directory: Path) -> Path:
    """A user who may read the MicroApp, its Deployment and its Pods, nothing else; the context's
    namespace is the app's (so `explain NAME` needs no -n)."""
    kubectl("create", "serviceaccount", "viewer", "-n", ns)
    kubectl(
        "create",
        "role",
        "viewer",
        "-n",
        ns,
        "--verb=get,list",
        "--resource=microapps.microapp.dev,pods",
        "--resource=deployments.apps",
    )
    kubectl("create", "rolebinding", "viewer", "-n", ns, "--role=viewer", f"--serviceaccount={ns}:viewer")
    token = kubectl("create", "token", "viewer", "-n", ns, "--duration=10m").stdout.strip()
    entry = yaml.safe_load(KUBECONFIG.read_text())["clusters"][0]
    path = directory / "viewer.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [entry],
                "users": [{"name": "viewer", "user": {"token": token}}],
                "contexts": [
                    {"name": "viewer", "context": {"cluster": entry["name"], "user": "viewer", "namespace": ns}}
                ],
                "current-context": "viewer",
            }
        )
    )
    return path


def test_a_viewer_sees_what_they_may_read_and_which_parts_they_may_not(
    shop: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns, team = shop
    proc = cli("shop", "--color", "never", kubeconfig=_viewer_kubeconfig(ns, tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = flat(proc.stdout)
    assert out.startswith(f"MicroApp {ns}/shop: Running\n")  # the context's namespace
    assert "  Ready        Deployment shop: 1 of 1 Pods available\n" in out
    assert "  NotReadable  Service shop: not readable with your permissions\n" in out
    assert "Pods (1)\n  Ready        1 running, ready, never restarted: shop-" in out
    assert f"Events\n{HANG}Events: not readable with your permissions\n" in proc.stdout
    assert f"  team         {team}: TeamBudgets not readable with your permissions\n" in out
    assert "; the PlatformPolicy's defaults are not readable with your permissions\n" in out
    data = json.loads(cli("shop", "-o", "json", kubeconfig=tmp_path / "viewer.kubeconfig").stdout)
    assert {"Service shop", "Events", "TeamBudgets", "PlatformPolicy"} <= set(data["unreadable"])

    # The portal's way: the same reads as the viewer, the same view model, drawn as HTML.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "viewer.kubeconfig"))
    seen = cluster.read(lambda kube: explaincmd.gather(kube, ns, "shop"), what="the app")
    assert seen is not None
    page = html.page(explain.build(seen.pop("app"), **seen, now=datetime.now(UTC)))
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"MicroApp {ns}/shop" in text and "Status Running " in text
    assert "Service shop: not readable with your permissions" in text
    assert "Events Events: not readable with your permissions" in text
    assert f"{team}: TeamBudgets not readable with your permissions" in text
