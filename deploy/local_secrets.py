"""The local broker's secured listener: a throwaway CA, a certificate for loopback and a SCRAM password.

Made once per stack folder, readable only by its owner, so the SASL_SSL listener on loopback proves
what production needs (TLS that verifies the broker, SCRAM-SHA-512 that verifies the client) with
the same client code. Nothing here is meant for a real cluster: there the CA and passwords come
from its own secret store, mounted as files.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path

SCRAM_USER = "streamscore"


@dataclass(frozen=True)
class BrokerSecrets:
    folder: Path

    @property
    def password_file(self) -> Path:
        return self.folder / "password"

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def keystore_file(self) -> Path:
        return self.folder / "broker.pem"

    def ensure(self) -> None:
        """Create what is missing: the user's password, the CA, and the broker's key and certificate chain
        (PEM; the key in PKCS#8, which Kafka's PEM keystore requires, unencrypted because JDK 17 cannot
        read PBES2-encrypted keys, in a file only the owner can read)."""
        import trustme
        from cryptography.hazmat.primitives import serialization

        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if not self.password_file.exists():
            _write_private(self.password_file, secrets.token_urlsafe(24))
        if self.keystore_file.exists() and self.ca_file.exists():
            return
        ca = trustme.CA(organization_name="streamscore local stack")
        issued = ca.issue_cert("127.0.0.1", "localhost")
        key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        chain = b"".join(blob.bytes() for blob in issued.cert_chain_pems)
        _write_private(self.keystore_file, (pkcs8 + chain).decode())
        self.ca_file.write_bytes(ca.cert_pem.bytes())

    def password(self) -> str:
        return self.password_file.read_text().strip()


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
