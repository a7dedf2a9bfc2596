"""Traffic as activity, with a real Prometheus (Debian's package, installed by hack/prometheus.sh
from `make test`) scraping a small exporter the test controls: traffic keeps one app Active while
another goes Idle; with Prometheus stopped nothing is idled and the status says why."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.helpers import ROOT, eventually, get_json, kubectl, microapp, policy_fields

LIFE = {"idleAfter": "12s", "retireAfter": "1h", "notifyBefore": "10m"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Exporter(BaseHTTPRequestHandler):
    """http_server_requests_total for two apps: `busy` counts up, `quiet` stands still."""

    namespace = ""
    busy = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Exporter.busy += 1
        body = (
            f'http_server_requests_total{{namespace="{Exporter.namespace}",microapp="busy"}} {Exporter.busy}\n'
            f'http_server_requests_total{{namespace="{Exporter.namespace}",microapp="quiet"}} 5\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class Prometheus:
    def __init__(self, workdir: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is not installed: `make test` installs it (hack/prometheus.sh)", pytrace=False)
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs: [{{job_name: apps, static_configs: [{{targets: ['{target}']}}]}}]\n"
        )
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "prometheus.log").open("wb"),
        )
        self.url = f"http://127.0.0.1:{self.port}"
        eventually(self.ready, timeout=60, what="Prometheus to be ready")

    def ready(self) -> bool:
        try:
            return urllib.request.urlopen(f"{self.url}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def prometheus(crds: None, namespace: str, tmp_path: Path) -> Iterator[Prometheus]:
    Exporter.namespace, Exporter.busy = namespace, 0
    exporter = HTTPServer(("127.0.0.1", 0), Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    prom = Prometheus(tmp_path, f"127.0.0.1:{exporter.server_address[1]}")
    policy_fields(
        "test-activity",
        {
            "activity": {
                "prometheusUrl": prom.url,
                "query": "sum by (namespace, microapp) (increase(http_server_requests_total[15s]))",
            },
            "lifecycle": {"sweepInterval": "2s"},
        },
        force=True,
    )
    yield prom
    policy_fields("test-activity", {}, check=False)
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=microapp-install",
        "--force-conflicts",  # the suite's policy
        "-f",
        str(ROOT / "tests" / "fixtures" / "platformpolicy.yaml"),
        check=False,
    )
    prom.stop()
    exporter.shutdown()


def status(namespace: str, name: str) -> dict:
    return get_json("mapp", name, "-n", namespace).get("status", {})


def test_traffic_keeps_an_app_active_while_a_quiet_one_idles(
    operator: object, namespace: str, prometheus: Prometheus
) -> None:
    kubectl("apply", "-f", "-", input=[microapp(name, namespace, lifecycle=LIFE) for name in ("busy", "quiet")])
    eventually(lambda: status(namespace, "quiet").get("phase") == "Idle", timeout=90, what="the quiet app to idle")
    busy = status(namespace, "busy")
    assert busy["phase"] == "Running"
    assert busy["lifecycle"]["activitySource"] == "traffic"

    prometheus.stop()  # the activity source fails: nothing is idled on that basis
    eventually(
        lambda: "activity unknown" in (status(namespace, "busy").get("lifecycle") or {}).get("message", ""),
        timeout=30,
        what="the status to say why",
    )
    time.sleep(15)  # longer than idleAfter since busy's last traffic
    assert status(namespace, "busy")["phase"] == "Running"
    assert status(namespace, "quiet")["phase"] == "Idle"  # and nothing else changed either
