"""The in-cluster webhook server registers a Service reference, not a URL."""

from __future__ import annotations

from pathlib import Path

from microapp_operator import certs
from microapp_operator.webhook import ServiceWebhookServer


async def test_service_client_config(tmp_path: Path) -> None:
    cert = certs.generate(tmp_path, ["microapp-operator.microapp-system.svc"])
    server = ServiceWebhookServer(service_namespace="microapp-system", service_name="microapp-operator",
                                  addr="127.0.0.1", port=0, certfile=str(cert.certfile),
                                  pkeyfile=str(cert.keyfile), cadata=cert.ca_pem)
    async def fn(*_: object, **__: object) -> dict:
        return {}
    gen = server(fn)
    config = await gen.__anext__()
    await gen.aclose()
    assert "url" not in config
    assert config["service"] == {"namespace": "microapp-system", "name": "microapp-operator", "port": 443, "path": "/"}
    assert config["caBundle"]
