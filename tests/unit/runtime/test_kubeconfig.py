"""runtime/kubeconfig.py: what kubectl would use, found without a client library (the real
control plane's kubeconfig, with client certificates, is what every integration test uses)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from microapp_operator.runtime import kubeconfig
from microapp_operator.runtime.kubeconfig import ConfigError, Credentials


def pem_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
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
    inline = kubeconfig.from_kubeconfig(
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
    assert (inline.server, inline.namespace, inline.cert_data, inline.key_data, inline.ca_data) == (
        "https://127.0.0.1:6443",
        "team-a",
        cert,
        key,
        cert,
    )
    inline.ssl_context()  # loads the CA and the client certificate
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "c.pem").write_bytes(cert)
    (tmp_path / "certs" / "k.pem").write_bytes(key)
    files = kubeconfig.from_kubeconfig(
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
    assert (files.cert_data, files.key_data, files.ca_data, files.namespace) == (cert, key, cert, "default")
    missing = config({"client-certificate": "certs/none.pem", "client-key": "certs/k.pem"})
    with pytest.raises(ConfigError, match=r"the kubeconfig's client-certificate .*certs/none.pem: No such file"):
        kubeconfig.from_kubeconfig([write(tmp_path / "c", missing)])


def test_several_files_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    first = {"current-context": "dev", "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}]}
    second = config({"token": "t0k3n"}, namespace="ignored")
    second["current-context"] = "other"
    creds = kubeconfig.from_kubeconfig(
        [write(tmp_path / "1", first), tmp_path / "absent", write(tmp_path / "2", second)]
    )
    assert (creds.server, creds.token, creds.namespace) == ("https://127.0.0.1:6443", "t0k3n", "default")
    assert asyncio.run(creds.authorization()) == "Bearer t0k3n"


def test_what_is_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=f"no kubeconfig at {tmp_path / 'none'}"):
        kubeconfig.from_kubeconfig([tmp_path / "none"])
    doc = config({})
    del doc["current-context"]
    with pytest.raises(ConfigError, match="has no current-context"):
        kubeconfig.from_kubeconfig([write(tmp_path / "k", doc)])
    doc = config({})
    doc["contexts"][0]["context"]["cluster"] = "gone"
    with pytest.raises(ConfigError, match="names cluster 'gone', which none of its files defines"):
        kubeconfig.from_kubeconfig([write(tmp_path / "k", doc)])
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'x'}{os.pathsep}{tmp_path / 'y'}")
    assert kubeconfig.paths() == [tmp_path / "x", tmp_path / "y"]


def test_a_token_file_is_read_again_when_it_rotates(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("one\n")
    creds = Credentials(server="https://h", token_file=token)
    assert asyncio.run(creds.authorization()) == "Bearer one"
    token.write_text("two\n")
    os.utime(token, (1, 1))  # a new mtime, as the kubelet's atomic rename gives
    assert asyncio.run(creds.authorization()) == "Bearer two"
    token.unlink()
    creds.expire()
    with pytest.raises(ConfigError, match="cannot read the token file"):
        asyncio.run(creds.authorization())


def test_exec_plugins_run_like_kubectl_runs_them_and_their_token_is_kept_until_it_expires(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    count = tmp_path / "count"
    plugin.write_text(f"""#!/bin/sh
echo x >> {count}
test "$KUBERNETES_EXEC_INFO" != "" || exit 3
echo '{{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
       "status": {{"token": "'$MY_TOKEN'-'$1'", "expirationTimestamp": "'$EXPIRES'"}}}}'
""")
    plugin.chmod(0o755)
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "./plugin.sh",
        "args": ["a"],
        "env": [{"name": "MY_TOKEN", "value": "sekret"}, {"name": "EXPIRES", "value": later}],
    }
    creds = kubeconfig.from_kubeconfig([write(tmp_path / "k", config({"exec": spec}))])
    assert asyncio.run(creds.authorization()) == "Bearer sekret-a"
    assert asyncio.run(creds.authorization()) == "Bearer sekret-a"
    assert count.read_text().count("x") == 1  # kept until it expires
    creds.expire()  # the server said 401
    asyncio.run(creds.authorization())
    assert count.read_text().count("x") == 2
    spec["env"][1]["value"] = "2000-01-01T00:00:00Z"  # an expired token is fetched each time
    creds = kubeconfig.from_kubeconfig([write(tmp_path / "k", config({"exec": spec}))])
    asyncio.run(creds.authorization())
    asyncio.run(creds.authorization())
    assert count.read_text().count("x") == 4
    plugin.write_text("#!/bin/sh\necho 'please log in' >&2\nexit 1\n")
    creds.expire()
    with pytest.raises(ConfigError, match=r"exec plugin './plugin.sh' failed \(1\): please log in"):
        asyncio.run(creds.authorization())


def test_in_a_pod_the_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, _ = pem_pair()
    (tmp_path / "ca.crt").write_bytes(cert)
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "namespace").write_text("microapp-system")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    creds = kubeconfig.in_cluster(tmp_path)
    assert (creds.server, creds.namespace, creds.ca_data) == ("https://[fd00::1]:443", "microapp-system", cert)
    assert asyncio.run(creds.authorization()) == "Bearer sa-token"
    (tmp_path / "ca.crt").unlink()
    with pytest.raises(ConfigError, match="automountServiceAccountToken"):
        kubeconfig.in_cluster(tmp_path)


def test_no_client_library_is_needed() -> None:
    """Every module imports with kubernetes_asyncio (and kubernetes) made unimportable, as in a
    venv without them; Kopf then imports neither (its third-party shims and its default login
    import one when installed: `@kopf.on.login` replaces the login)."""
    import pkgutil
    import subprocess
    import sys

    import microapp_operator

    names = [
        m.name
        for m in pkgutil.walk_packages(microapp_operator.__path__, "microapp_operator.")
        if not m.name.endswith("__main__")
    ]
    code = (
        "import sys, importlib\nsys.modules['kubernetes_asyncio'] = None\nsys.modules['kubernetes'] = None\n"
        f"for name in {names!r}:\n    importlib.import_module(name)\n"
        "import kopf\nfrom microapp_operator.entry import handlers\n"
        "assert any(h.fn is handlers.login for h in kopf.get_default_registry()._activities.get_all_handlers())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "microapp_operator.entry.handlers" in names and len(names) > 60
