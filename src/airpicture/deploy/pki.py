"""The exercise's certificate authority and its certificates, made with `cryptography`.

One CA per deployment; one server certificate (for every host name and IP the
servers listen on, usable both to serve clients and to dial a leaf-node hub);
one client certificate per nation. Keys are ECDSA P-256, written 0600. The
servers require a client certificate signed by this CA (`verify: true`), so a
client holding another CA's certificate, or none, is refused at the handshake.
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

from airpicture.errors import InputError

#: Clock skew tolerated between the machines of an exercise: certificates start this early.
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "airpicture exercise"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """PEM, unencrypted, created 0600 (never world-readable, not even for an instant)."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_secret(path, data)


def write_secret(path: Path, data: bytes) -> None:
    """Write `data` to a new file readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


class Authority:
    """A certificate authority held in memory while a deployment is written."""

    def __init__(self, common_name: str, not_before: datetime, not_after: datetime) -> None:
        self.key = _new_key()
        self.name = _name(common_name)
        self.not_before = not_before
        self.not_after = not_after
        self.cert: x509.Certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    @classmethod
    def load(cls, cert_file: Path, key_file: Path) -> Authority:
        """A CA kept by `init_exercise(keep_ca_key=True)`, to issue more certificates."""
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InputError(str(key_file), ["not the exercise CA's key (an EC P-256 key)"])
        ca = cls.__new__(cls)
        ca.key, ca.cert, ca.name = key, cert, cert.subject
        ca.not_before, ca.not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
        return ca

    def write(self, cert_file: Path, key_file: Path | None = None) -> Issued:
        """The CA certificate (public); its key only if asked (to issue more certificates later)."""
        _write_cert(cert_file, self.cert)
        if key_file is not None:
            write_private_key(key_file, self.key)
        return Issued(cert_file, key_file or Path())

    def issue(
        self,
        common_name: str,
        cert_file: Path,
        key_file: Path,
        *,
        server_names: tuple[str, ...] = (),
        client: bool = True,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        """Sign a new key's certificate; `server_names` (DNS names or IPs) make it a server's."""
        key = _new_key()
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        if server_names:
            usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or self.not_before)
            .not_valid_after(not_after or self.not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(n) for n in server_names]),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        _write_cert(cert_file, cert)
        write_private_key(key_file, key)
        return Issued(cert_file, key_file)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def validity(valid_days: float, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(not_before, not_after) for certificates valid `valid_days` from now."""
    if valid_days <= 0:
        raise InputError("--valid-days", [f"must be positive, got {valid_days}"])
    start = (now or datetime.now(UTC)) - BACKDATE
    return start, start + BACKDATE + timedelta(days=valid_days)


def check_certificate(path: Path, what: str, now: datetime | None = None) -> x509.Certificate:
    """Load a PEM certificate, refusing a missing, unreadable or expired one in plain words."""
    fix = "run `airpicture exercise init` again to make new certificates"
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise InputError(str(path), [f"{what} is missing: {fix}"]) from None
    except (OSError, ValueError) as exc:
        raise InputError(str(path), [f"{what} cannot be read ({exc}): {fix}"]) from None
    moment = now or datetime.now(UTC)
    if cert.not_valid_after_utc < moment:
        raise InputError(
            str(path),
            [
                f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: {fix} "
                "(`--valid-days` sets how long they last)"
            ],
        )
    if cert.not_valid_before_utc > moment:
        raise InputError(
            str(path),
            [
                f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC: "
                "check this machine's clock"
            ],
        )
    return cert
