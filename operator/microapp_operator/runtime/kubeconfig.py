"""Where the API server is and how to prove who we are: the Pod's ServiceAccount, or a kubeconfig.

A client library would do this, and did (kubernetes_asyncio), but importing it loads every model
class of the Kubernetes API: about 40 MB of the operator's memory, for the few fields read here.
What a kubeconfig may hold and kubectl honours, this honours: the current context's cluster
(``server``, ``certificate-authority[-data]``, ``insecure-skip-tls-verify``, ``tls-server-name``,
``proxy-url``) and user (``token``, ``tokenFile``, ``client-certificate[-data]`` and
``client-key[-data]``, ``username``/``password``, and ``exec`` credential plugins); several files
in ``$KUBECONFIG`` are merged as kubectl merges them (the first value wins). Tokens that rotate
(the ServiceAccount's projected token, ``tokenFile``, an exec plugin's expiring token) are read
again when they change or expire.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_API = "client.authentication.k8s.io/v1"


class ConfigError(Exception):
    """No usable configuration: the message names the file or variable and what is wrong."""


@dataclass
class Credentials:
    """One API server and how to authenticate to it."""

    server: str
    namespace: str = "default"
    ca_data: bytes | None = None  # PEM
    insecure: bool = False
    tls_server_name: str | None = None
    proxy: str | None = None
    cert_data: bytes | None = None  # PEM client certificate and key
    key_data: bytes | None = None
    token: str | None = None
    token_file: Path | None = None
    basic: tuple[str, str] | None = None
    exec_spec: Mapping[str, Any] | None = None
    base_dir: Path = Path(".")
    _file_token: tuple[float, str] | None = field(default=None, repr=False)  # (mtime, token)
    _exec_token: tuple[float, str] | None = field(default=None, repr=False)  # (expires, token)

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the server with the CA given (else the system's), presents the client certificate."""
        ctx = ssl.create_default_context(cadata=self.ca_data.decode() if self.ca_data else None)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_data and self.key_data:
            with tempfile.TemporaryDirectory() as tmp:  # ssl loads a chain from files only
                cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
                cert.write_bytes(self.cert_data)
                key.touch(mode=0o600)
                key.write_bytes(self.key_data)
                ctx.load_cert_chain(cert, key)
        return ctx

    async def authorization(self) -> str | None:
        """The Authorization header's value now (None: the client certificate authenticates)."""
        token = self.token
        if self.token_file is not None:
            token = self._read_token_file()
        elif self.exec_spec is not None:
            token = await self._exec()
        if token:
            return f"Bearer {token}"
        if self.basic:
            return "Basic " + base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
        return None

    def expire(self) -> None:
        """Forget a token the server refused (401), so the next request fetches a fresh one."""
        self._file_token = None
        self._exec_token = None

    def _read_token_file(self) -> str:
        assert self.token_file is not None
        try:
            mtime = self.token_file.stat().st_mtime
            if self._file_token is None or self._file_token[0] != mtime:
                self._file_token = (mtime, self.token_file.read_text().strip())
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {self.token_file}: {exc.strerror}") from None
        return self._file_token[1]

    async def _exec(self) -> str:
        """Run the exec credential plugin (as kubectl does) unless its last token is still valid."""
        if self._exec_token is not None and self._exec_token[0] > time.time() + 10:
            return self._exec_token[1]
        spec = self.exec_spec or {}
        command = str(spec.get("command") or "")
        env = {
            **os.environ,
            **{e["name"]: e["value"] for e in spec.get("env") or [] if "name" in e},
            "KUBERNETES_EXEC_INFO": json.dumps(
                {
                    "apiVersion": spec.get("apiVersion", EXEC_API),
                    "kind": "ExecCredential",
                    "spec": {"interactive": False},
                }
            ),
        }
        path = command if "/" not in command else str((self.base_dir / command).resolve())
        try:
            proc = await asyncio.create_subprocess_exec(
                path,
                *map(str, spec.get("args") or []),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        except (TimeoutError, OSError) as exc:
            raise ConfigError(f"the kubeconfig's exec plugin {command!r} did not run: {exc}") from None
        if proc.returncode != 0:
            raise ConfigError(
                f"the kubeconfig's exec plugin {command!r} failed ({proc.returncode}): "
                f"{err.decode(errors='replace').strip()[:300]}"
            )
        try:
            status = json.loads(out)["status"]
            token = str(status["token"])
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"the kubeconfig's exec plugin {command!r} printed no ExecCredential with "
                "status.token (client certificates from exec plugins are not supported)"
            ) from None
        expires = status.get("expirationTimestamp")
        until = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() if expires else float("inf")
        self._exec_token = (until, token)
        return token


def load() -> Credentials:
    """In a Pod: its ServiceAccount. Elsewhere: the current context of $KUBECONFIG (default
    ~/.kube/config)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return in_cluster()
    return from_kubeconfig(paths())


def in_cluster(root: Path = SERVICE_ACCOUNT) -> Credentials:
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    host = f"[{host}]" if ":" in host else host
    try:
        ca = (root / "ca.crt").read_bytes()
        namespace = (root / "namespace").read_text().strip() if (root / "namespace").exists() else "default"
    except OSError as exc:
        raise ConfigError(
            f"in a Pod, but the ServiceAccount files are missing ({exc}); is automountServiceAccountToken false?"
        ) from None
    return Credentials(server=f"https://{host}:{port}", namespace=namespace, ca_data=ca, token_file=root / "token")


def paths() -> list[Path]:
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [Path.home() / ".kube" / "config"]


def from_kubeconfig(files: list[Path]) -> Credentials:
    """The current context of these kubeconfig files, merged (the first file that sets a value wins)."""
    docs = []
    for path in files:
        try:
            docs.append((path, yaml.safe_load(path.read_text()) or {}))
        except FileNotFoundError:
            continue
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the kubeconfig {path}: {exc}") from None
    if not docs:
        raise ConfigError(f"no kubeconfig at {', '.join(map(str, files))}")
    current = next((d.get("current-context") for _, d in docs if d.get("current-context")), None)
    if not current:
        raise ConfigError(f"the kubeconfig {', '.join(str(p) for p, _ in docs)} has no current-context")
    context, _ = _named(docs, "contexts", "context", current)
    cluster, cluster_dir = _named(docs, "clusters", "cluster", context.get("cluster"))
    user, user_dir = _named(docs, "users", "user", context.get("user"), required=False)
    if not cluster.get("server"):
        raise ConfigError(f"the kubeconfig's cluster {context.get('cluster')!r} has no server")
    return Credentials(
        server=str(cluster["server"]).rstrip("/"),
        namespace=str(context.get("namespace") or "default"),
        ca_data=_data(cluster, "certificate-authority", cluster_dir),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name"),
        proxy=cluster.get("proxy-url"),
        cert_data=_data(user, "client-certificate", user_dir),
        key_data=_data(user, "client-key", user_dir),
        token=user.get("token"),
        token_file=(user_dir / user["tokenFile"]) if user.get("tokenFile") else None,
        basic=(str(user["username"]), str(user.get("password") or "")) if user.get("username") else None,
        exec_spec=user.get("exec"),
        base_dir=user_dir,
    )


def _named(
    docs: list[tuple[Path, dict[str, Any]]], section: str, key: str, name: Any, required: bool = True
) -> tuple[dict[str, Any], Path]:
    for path, doc in docs:
        for entry in doc.get(section) or []:
            if entry.get("name") == name:
                return dict(entry.get(key) or {}), path.parent
    if required:
        raise ConfigError(f"the kubeconfig names {section[:-1]} {name!r}, which none of its files defines")
    return {}, Path(".")


def _data(entry: Mapping[str, Any], name: str, base: Path) -> bytes | None:
    """``NAME-data`` (base64) or the file ``NAME`` (relative to the kubeconfig's directory)."""
    if entry.get(f"{name}-data"):
        return base64.b64decode(entry[f"{name}-data"])
    if entry.get(name):
        path = base / str(entry[name])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"the kubeconfig's {name} {path}: {exc.strerror}") from None
    return None
