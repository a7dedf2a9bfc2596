"""A CA and a serving certificate for the admission webhook, made with ``cryptography``.

Kopf's built-in self-signed certificates use oscrypto, which fails on this machine's OpenSSL
(DESIGN.md). One process alone (``make run``) makes a fresh CA at each start. Replicas share
one CA kept in a Secret (``runtime.webhookca``): each signs its own serving certificate with
it, so every replica registers the same caBundle and none undoes another's (as
external-secrets does, with no cert-manager). Keys live in a private directory, never in Git.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "microapp-operator webhook CA")])


@dataclass(frozen=True)
class ServingCert:
    ca_pem: bytes
    certfile: Path
    keyfile: Path


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def new_ca(*, now: datetime | None = None, days: int = 3650) -> tuple[bytes, bytes]:
    """A new CA: (certificate PEM, key PEM)."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return ca.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def not_after(cert_pem: bytes) -> datetime:
    """When a certificate expires (the shared CA is replaced well before)."""
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc


def serving(
    directory: Path, hosts: list[str], ca_pem: bytes, ca_key_pem: bytes, *, now: datetime | None = None, days: int = 365
) -> ServingCert:
    """Write ``tls.crt``/``tls.key`` for ``hosts`` (IPs or DNS names), signed by the given CA."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=days), ca.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # type: ignore[arg-type]
    certfile, keyfile = directory / "tls.crt", directory / "tls.key"
    keyfile.write_bytes(_key_pem(key))
    os.chmod(keyfile, 0o600)
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ServingCert(ca_pem, certfile, keyfile)


def generate(directory: Path, hosts: list[str], *, now: datetime | None = None, days: int = 365) -> ServingCert:
    """A serving certificate for ``hosts`` signed by a new CA (one process, no shared Secret)."""
    ca_pem, ca_key_pem = new_ca(now=now, days=days)
    return serving(directory, hosts, ca_pem, ca_key_pem, now=now, days=days)
