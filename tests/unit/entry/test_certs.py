"""Webhook certificates: a CA and a serving certificate valid for the webhook's address."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509

from microapp_operator.entry import certs


def test_serving_cert_is_signed_by_the_ca_and_names_the_host(tmp_path: Path) -> None:
    cert = certs.generate(tmp_path / "w", ["127.0.0.1", "microapp-operator.microapp-system.svc"])
    leaf = x509.load_pem_x509_certificate(cert.certfile.read_bytes())
    ca = x509.load_pem_x509_certificate(cert.ca_pem)
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.get_values_for_type(x509.DNSName) == ["microapp-operator.microapp-system.svc"]
    assert stat.S_IMODE(cert.keyfile.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "w").stat().st_mode) == 0o700
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.certfile, cert.keyfile)  # the pair loads as a TLS server identity
