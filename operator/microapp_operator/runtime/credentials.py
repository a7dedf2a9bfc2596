"""Where the API server is and how to prove who we are, read by the official client's ``kubernetes.config``.

``kubernetes.config`` reads what kubectl reads: in a Pod, the ServiceAccount (its CA and its
projected token); elsewhere the current context of ``$KUBECONFIG`` (default ``~/.kube/config``;
several files merged) with its CA, client certificates, tokens, token files, username/password,
exec credential plugins and auth providers (OIDC refresh). It fills a
``kubernetes.client.Configuration``; the operator's requests still go through its own aiohttp
layer (``runtime.kube``), which takes the host, CA and client certificate from it once, and the
Authorization header for every request from :meth:`Login.authorization`. The client refreshes an
expiring token only inside ``Configuration.get_api_key_with_prefix()`` (its
``refresh_api_key_hook``: an exec plugin runs again when its token is within 5 minutes of expiry,
the ServiceAccount's token file is read again after a minute), so asking it for each request is
how rotation reaches us; that is cheap (a time comparison) except when it does refresh: the
client runs an exec plugin synchronously, so in the event loop, once per token in the usual case
(tokens that live for hours), but on every request for a token that lives under 5 minutes. A token
the server refuses anyway (401) is answered by a fresh :func:`load` in a thread (``Kube`` does it
once per refused login).

``kubernetes`` is imported when credentials are loaded, not with this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from kubernetes.client import Configuration

log = logging.getLogger(__name__)
BEARER = "BearerToken"  # the api_key entry kubernetes.config fills with "Bearer ..." (or "Basic ...")


class ConfigError(Exception):
    """No usable configuration: the message names the file or variable and what is wrong."""


@dataclass(frozen=True)
class Login:
    """One API server and how to authenticate to it: a ``kubernetes.client.Configuration`` and
    the namespace of the context (or of the Pod)."""

    config: Configuration
    namespace: str = "default"
    proxy: str | None = None  # the kubeconfig's proxy-url (the environment's is read by runtime.kube)

    @property
    def server(self) -> str:
        return str(self.config.host).rstrip("/")

    @property
    def tls_server_name(self) -> str | None:
        return getattr(self.config, "tls_server_name", None) or None

    def tls(self) -> tuple[Any, ...]:
        """What the TLS context is made of: a new login with the same tuple keeps the context."""
        c = self.config
        return (c.ssl_ca_cert, c.cert_file, c.key_file, c.verify_ssl)

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the server with the CA given (else the system's), presents the client certificate."""
        c = self.config
        try:
            ctx = ssl.create_default_context(cafile=c.ssl_ca_cert or None)
            if not c.verify_ssl:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if c.cert_file and c.key_file:
                ctx.load_cert_chain(c.cert_file, c.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot use the CA or client certificate of the kubeconfig: {exc}") from None
        return ctx

    def authorization(self) -> str | None:
        """The Authorization header's value now (None: the client certificate authenticates).
        Asks the client each time: that is where it refreshes an expiring token."""
        from kubernetes.config import ConfigException

        try:
            value = (self.config.get_api_key_with_prefix(BEARER) or "").strip()
        except (ConfigException, OSError) as exc:  # a token file gone
            raise ConfigError(f"cannot refresh the API token: {exc}") from None
        scheme, _, token = value.partition(" ")
        if not token:
            return f"Bearer {scheme}" if scheme else None
        return f"{scheme.capitalize()} {token.strip()}"  # the in-cluster loader writes "bearer"


class Auth:
    """A connection's current login, its TLS context, and how to log in again."""

    def __init__(self, login: Login, relogin: Callable[[], Login] | None = None) -> None:
        self.login = login
        self.ssl = login.ssl_context()
        self.renewable = relogin is not None
        self._relogin = relogin
        self._lock = asyncio.Lock()

    async def again(self, refused: Login) -> None:
        """Load the credentials again (in a thread: an exec plugin may run), once for all the
        requests refused with the same login. Raises :class:`ConfigError`."""
        assert self._relogin is not None
        async with self._lock:
            if self.login is not refused:  # another request has logged in again meanwhile
                return
            login = await asyncio.to_thread(self._relogin)
            if login.tls() != refused.tls():
                self.ssl = login.ssl_context()
            log.info("logged in again after a 401 server=%s", login.server)
            self.login = login


def load() -> Login:
    """In a Pod: its ServiceAccount. Elsewhere: the current context of $KUBECONFIG (default
    ~/.kube/config). Raises :class:`ConfigError` with what to fix."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return in_cluster()
    return from_kubeconfig(paths())


def in_cluster() -> Login:
    """The Pod's ServiceAccount (files at ``incluster_config.SERVICE_TOKEN_FILENAME`` and
    ``SERVICE_CERT_FILENAME``); the token is read again as the kubelet rotates it."""
    from kubernetes.client import Configuration
    from kubernetes.config import ConfigException, incluster_config

    token = incluster_config.SERVICE_TOKEN_FILENAME
    config = Configuration()
    try:
        incluster_config.InClusterConfigLoader(
            token_filename=token, cert_filename=incluster_config.SERVICE_CERT_FILENAME
        ).load_and_set(config)
    except (ConfigException, OSError) as exc:
        raise ConfigError(
            f"in a Pod, but its ServiceAccount cannot be used ({exc}); is automountServiceAccountToken false?"
        ) from None
    namespace = Path(token).parent / "namespace"
    return Login(config, namespace.read_text().strip() if namespace.is_file() else "default")


def paths() -> list[Path]:
    """The kubeconfig files, as kubectl finds them (read now, not when ``kubernetes`` was imported)."""
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [Path.home() / ".kube" / "config"]


def from_kubeconfig(files: list[Path]) -> Login:
    """The current context of these kubeconfig files, merged as kubectl merges them."""
    from kubernetes.client import Configuration
    from kubernetes.config import ConfigException

    loader = _loader(files)
    config = Configuration()
    try:
        with _logged_errors() as errors:
            loader.load_and_set(config)
    except (ConfigException, OSError, ValueError) as exc:
        raise ConfigError(f"cannot use the kubeconfig {_names(files)}: {exc}") from None
    user = loader._user or {}  # noqa: SLF001 (a ConfigNode; the exec section is only read here)
    if "exec" in user and BEARER not in config.api_key and not config.cert_file:
        command = user["exec"].safe_get("command")
        raise ConfigError(
            f"the kubeconfig's exec plugin {command!r} gave no credentials: "
            + (errors[-1] if errors else "it printed neither status.token nor a client certificate")
        )
    namespace = loader.current_context["context"].get("namespace")
    return Login(config, str(namespace or "default"), loader._cluster.safe_get("proxy-url"))  # noqa: SLF001


def context_namespace() -> str:
    """The namespace of the kubeconfig's current context, as kubectl would use it; else default.
    Runs no exec plugin and reads no certificate."""
    from kubernetes.config import ConfigException

    try:
        return str(_loader(paths()).current_context["context"].get("namespace") or "default")
    except (ConfigError, ConfigException):
        return "default"


def _loader(files: list[Path]) -> Any:
    """A ``KubeConfigLoader`` over the merged files, at the current context of the first file that
    names one (kubectl's rule; the client alone would take the last)."""
    from kubernetes.config import ConfigException, kube_config

    existing = [p for p in files if p.exists()]
    if not existing:
        raise ConfigError(f"no kubeconfig at {_names(files)}")
    try:
        merger = kube_config.KubeConfigMerger(os.pathsep.join(map(str, existing)))
        current = next((d["current-context"] for d in merger.config_files.values() if d.get("current-context")), None)
        if not current:
            raise ConfigError(f"the kubeconfig {_names(existing)} has no current-context")
        return kube_config.KubeConfigLoader(config_dict=merger.config, active_context=current, config_base_path=None)
    except (ConfigException, OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the kubeconfig {_names(existing)}: {exc}") from None


def _names(files: list[Path]) -> str:
    return ", ".join(map(str, files))


@contextlib.contextmanager
def _logged_errors() -> Iterator[list[str]]:
    """What ``kubernetes.config`` logs instead of raising (a failing exec plugin), collected."""
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield errors
    finally:
        root.removeHandler(handler)
