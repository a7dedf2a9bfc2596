"""runtime/credentials.py: what kubectl would use, found by the ``kubernetes`` package's
``kubernetes.config`` (the real control plane's kubeconfig, with client certificates, is what
every integration test uses; tests/integration/test_credentials.py runs an expiring exec plugin
against it)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import os
import ssl
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes.config import incluster_config

from microapp_operator.runtime import credentials
from microapp_operator.runtime.credentials import ConfigError
from microapp_operator.runtime.kube import Kube, KubeError


def pem_pair(*, ip: str | None = None) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def config(user: dict[str, Any], cluster: dict[str, Any] | None = None, namespace: str | None = None) -> dict[str, Any]:
    ctx = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dev",
        "clusters": [{"name": "c", "cluster": cluster or {"server": "https://127.0.0.1:6443/"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "dev", "context": ctx}],
    }


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_client_certificates_and_the_ca_as_data_or_as_files_next_to_the_kubeconfig(tmp_path: Path) -> None:
    cert, key = pem_pair()
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    inline = credentials.from_kubeconfig(
        [
            write(
                tmp_path / "a",
                config(
                    {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
                    {"server": "https://127.0.0.1:6443/", "certificate-authority-data": b64(cert)},
                    namespace="team-a",
                ),
            )
        ]
    )
    c = inline.config  # kubernetes.config writes data to (private) temporary files
    assert (inline.server, inline.namespace) == ("https://127.0.0.1:6443", "team-a")
    assert [Path(f).read_bytes() for f in (c.cert_file, c.key_file, c.ssl_ca_cert)] == [cert, key, cert]
    assert inline.authorization() is None  # the client certificate authenticates
    inline.ssl_context()  # loads the CA and the client certificate
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "c.pem").write_bytes(cert)
    (tmp_path / "certs" / "k.pem").write_bytes(key)
    files = credentials.from_kubeconfig(
        [
            write(
                tmp_path / "b",
                config(
                    {"client-certificate": "certs/c.pem", "client-key": "certs/k.pem"},
                    {"server": "https://h:6443", "certificate-authority": "certs/c.pem"},
                ),
            )
        ]
    )
    c = files.config
    assert [Path(f).read_bytes() for f in (c.cert_file, c.key_file, c.ssl_ca_cert)] == [cert, key, cert]
    assert files.namespace == "default"
    missing = config({"client-certificate": "certs/none.pem", "client-key": "certs/k.pem"})
    with pytest.raises(ConfigError, match=r"cannot use the kubeconfig .*/c: File does not exist: .*certs/none.pem"):
        credentials.from_kubeconfig([write(tmp_path / "c", missing)])


def test_several_files_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    """The first file that names a current-context wins (the client alone would take the last)."""
    first = {"current-context": "dev", "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}]}
    second = config({"token": "t0k3n"}, namespace="ignored")
    second["current-context"] = "other"
    login = credentials.from_kubeconfig(
        [write(tmp_path / "1", first), tmp_path / "absent", write(tmp_path / "2", second)]
    )
    assert (login.server, login.namespace) == ("https://127.0.0.1:6443", "default")
    assert login.authorization() == "Bearer t0k3n"
    basic = credentials.from_kubeconfig([write(tmp_path / "3", config({"username": "u", "password": "p"}))])
    assert basic.authorization() == "Basic " + base64.b64encode(b"u:p").decode()


def test_what_is_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=f"no kubeconfig at {tmp_path / 'none'}"):
        credentials.from_kubeconfig([tmp_path / "none"])
    doc = config({})
    del doc["current-context"]
    with pytest.raises(ConfigError, match="has no current-context"):
        credentials.from_kubeconfig([write(tmp_path / "k", doc)])
    doc = config({})
    doc["contexts"][0]["context"]["cluster"] = "gone"
    with pytest.raises(
        ConfigError,
        match=r"kubeconfig .*/k: Invalid kube-config file. Expected object with name gone in .*clusters list",
    ):
        credentials.from_kubeconfig([write(tmp_path / "k", doc)])
    (tmp_path / "bad").write_text("clusters: [")
    with pytest.raises(ConfigError, match=f"cannot read the kubeconfig {tmp_path / 'bad'}: while parsing"):
        credentials.from_kubeconfig([tmp_path / "bad"])
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'x'}{os.pathsep}{tmp_path / 'y'}")
    assert credentials.paths() == [tmp_path / "x", tmp_path / "y"]
    write(tmp_path / "y", config({}, namespace="team-y"))
    assert credentials.context_namespace() == "team-y"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    assert credentials.context_namespace() == "default"


@pytest.fixture
def service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Pod's ServiceAccount files in a temp dir, where ``kubernetes.config`` looks for them."""
    cert, _ = pem_pair()
    (tmp_path / "ca.crt").write_bytes(cert)
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "namespace").write_text("microapp-system")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return tmp_path


def test_in_a_pod_the_service_account(service_account: Path) -> None:
    login = credentials.load()
    assert (login.server, login.namespace) == ("https://[fd00::1]:443", "microapp-system")
    assert Path(login.config.ssl_ca_cert).read_bytes() == (service_account / "ca.crt").read_bytes()
    assert login.authorization() == "Bearer sa-token"
    (service_account / "ca.crt").unlink()
    with pytest.raises(ConfigError, match="certification file does not exist.*automountServiceAccountToken"):
        credentials.load()


def test_a_rotated_service_account_token_is_picked_up(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads the projected token again a minute after it last read it, inside
    ``get_api_key_with_prefix``, which ``authorization()`` calls for every request."""
    login = credentials.load()
    assert login.authorization() == "Bearer sa-token"
    (service_account / "token").write_text("rotated\n")  # as the kubelet swaps it in
    assert login.authorization() == "Bearer sa-token"  # within the minute: kept

    shift = [datetime.timedelta(seconds=61)]

    class Later(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.datetime.now(tz) + shift[0]

    monkeypatch.setattr(incluster_config, "datetime", SimpleNamespace(datetime=Later, timedelta=datetime.timedelta))
    assert login.authorization() == "Bearer rotated"
    (service_account / "token").unlink()
    shift[0] = datetime.timedelta(minutes=3)
    with pytest.raises(ConfigError, match="cannot refresh the API token: .*token"):
        login.authorization()


def plugin(tmp_path: Path, count: Path) -> Path:
    """An exec credential plugin as kubectl runs it: prints an ExecCredential, counts its runs."""
    path = tmp_path / "plugin.sh"
    path.write_text(f"""#!/bin/sh
echo x >> {count}
test "$KUBERNETES_EXEC_INFO" != "" || exit 3
echo '{{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
       "status": {{"token": "'$MY_TOKEN'-'$1'", "expirationTimestamp": "'$EXPIRES'"}}}}'
""")
    path.chmod(0o755)
    return path


def test_exec_plugins_run_like_kubectl_runs_them_and_their_token_is_kept_until_it_expires(tmp_path: Path) -> None:
    count = tmp_path / "count"
    script = plugin(tmp_path, count)
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "./plugin.sh",  # relative to the kubeconfig's directory
        "args": ["a"],
        "env": [{"name": "MY_TOKEN", "value": "sekret"}, {"name": "EXPIRES", "value": later}],
    }
    login = credentials.from_kubeconfig([write(tmp_path / "k", config({"exec": spec}))])
    assert login.authorization() == "Bearer sekret-a"
    assert login.authorization() == "Bearer sekret-a"
    assert count.read_text().count("x") == 1  # kept until it (nearly) expires
    spec["env"][1]["value"] = "2000-01-01T00:00:00Z"  # an expired token is fetched each time
    login = credentials.from_kubeconfig([write(tmp_path / "k", config({"exec": spec}))])
    assert count.read_text().count("x") == 2
    login.authorization()
    login.authorization()
    assert count.read_text().count("x") == 4
    script.write_text("#!/bin/sh\necho 'please log in' >&2\nexit 1\n")
    with pytest.raises(
        ConfigError, match=r"exec plugin './plugin.sh' gave no credentials: .*returned 1\. please log in"
    ):
        credentials.from_kubeconfig([write(tmp_path / "k", config({"exec": spec}))])


class Server:
    """A local HTTPS API server stand-in that accepts one token at a time (for the 401 path only:
    behaviour against the real API server is in tests/integration/test_credentials.py)."""

    def __init__(self, tmp_path: Path) -> None:
        self.cert, self.key = pem_pair(ip="127.0.0.1")
        (tmp_path / "srv.crt").write_bytes(self.cert)
        (tmp_path / "srv.key").write_bytes(self.key)
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(tmp_path / "srv.crt", tmp_path / "srv.key")
        self.accepted = "Bearer two"
        self.seen: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.headers.get("Authorization", ""))
        if self.seen[-1] != self.accepted:
            return web.json_response({"kind": "Status", "message": "Unauthorized"}, status=401)
        return web.json_response({"kind": "NamespaceList", "items": []})

    async def start(self) -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.ctx)
        await site.start()
        return runner, runner.addresses[0][1]


def test_a_refused_token_leads_to_one_new_login_that_reads_the_rotated_file(
    tmp_path: Path, service_account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 within the client's minute: the Kube logs in again once (the file is read anew) and
    the request succeeds; a token still refused fails with the server's 401, after one login."""
    server = Server(tmp_path)
    (service_account / "ca.crt").write_bytes(server.cert)
    (service_account / "token").write_text("one")

    async def check() -> None:
        runner, port = await server.start()
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
        kube = await Kube.connect()
        try:
            (service_account / "token").write_text("two")
            assert await kube.request("GET", "/api/v1/namespaces") == {"kind": "NamespaceList", "items": []}
            assert server.seen == ["Bearer one", "Bearer two"]
            await kube.request("GET", "/api/v1/namespaces")
            assert server.seen[-1] == "Bearer two"  # the new login is kept
            server.accepted = "Bearer three"
            with pytest.raises(KubeError) as caught:
                await kube.request("GET", "/api/v1/namespaces")
            assert (caught.value.status, caught.value.message) == (401, "Unauthorized")
            assert server.seen[-2:] == ["Bearer two", "Bearer two"]  # one new login, then the 401 stands
        finally:
            await kube.close()
            await runner.cleanup()

    asyncio.run(check())


def test_kubernetes_is_loaded_only_for_credentials_and_the_requests_stay_on_aiohttp() -> None:
    """The ``kubernetes`` package gives credentials (``runtime/credentials.py``, and Kopf through
    ``@kopf.on.login``); no module sends requests through its ApiClient, and Kopf's own login
    handlers (fallbacks, which would read the same files again) give way to ours."""
    import pkgutil
    import re
    import subprocess

    import microapp_operator

    users = []
    for m in pkgutil.walk_packages(microapp_operator.__path__, "microapp_operator."):
        path = Path(microapp_operator.__path__[0]).parent.joinpath(*m.name.split(".")).with_suffix(".py")
        if path.exists() and re.search(r"\b(import|from) kubernetes\b", path.read_text()):
            users.append(m.name)
    assert users == ["microapp_operator.runtime.credentials"]
    assert "ApiClient" not in Path(credentials.__file__).read_text()
    code = (
        "import kopf\nfrom kopf._core.intents.causes import Activity\nfrom microapp_operator.entry import handlers\n"
        "fns = [h.fn for h in kopf.get_default_registry()._activities.get_handlers(Activity.AUTHENTICATION)]\n"
        "assert fns == [handlers.login], fns\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
