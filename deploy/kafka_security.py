"""How every Kafka client streamscore runs connects: plaintext, TLS, SASL (SCRAM-SHA-512) or both.

Set only by environment variables, never by the spec (a committed, printed file):

| variable | meaning |
|---|---|
| `STREAMSCORE_KAFKA_SECURITY_PROTOCOL` | `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT`, `SASL_SSL` |
| `STREAMSCORE_KAFKA_SASL_MECHANISM` | `SCRAM-SHA-512` (default), `SCRAM-SHA-256`, `PLAIN` |
| `STREAMSCORE_KAFKA_USERNAME` | the SASL user |
| `STREAMSCORE_KAFKA_PASSWORD_FILE` | a file holding the password (a mounted secret); wins over the next |
| `STREAMSCORE_KAFKA_PASSWORD` | the password itself |
| `STREAMSCORE_KAFKA_CA_FILE` | PEM bundle of the CAs the brokers' certificates chain to (default: the system's) |

Python clients (producer, CLI, the benchmarks' consumers, paced load and latency reader) read the
password when they connect. Java clients (the Flink job, the Spark jobs) are handed only a
reference that Kafka's own config provider resolves inside the process that connects,
`${dir:<folder>:<file>}` for a file or `${env:STREAMSCORE_KAFKA_PASSWORD}` for the variable, so
neither the job's SQL, nor its job graph, nor Spark's plan, nor any log holds the secret. Nothing
here prints the password: `repr` names where it comes from.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamscore.shared.errors import StreamscoreError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
LOGIN_MODULES = {
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
}
PASSWORD_VARIABLE = "STREAMSCORE_KAFKA_PASSWORD"
PROVIDERS = "org.apache.kafka.common.config.provider"
FLINK_SHADED = "org.apache.flink.kafka.shaded."
"""Flink's SQL Kafka connector relocates the Kafka client: class names in its properties need this prefix."""


class KafkaSecurityError(StreamscoreError):
    """Kafka security settings that cannot work: a missing user, password or CA file, an unknown protocol."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password_file: Path | None = None
    password_in_env: bool = False
    ca_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "KafkaSecurity":
        """The settings the STREAMSCORE_KAFKA_* variables describe; raises KafkaSecurityError if incomplete."""
        protocol = environ.get("STREAMSCORE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
        mechanism = environ.get("STREAMSCORE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper()
        if protocol not in PROTOCOLS:
            raise KafkaSecurityError(f"STREAMSCORE_KAFKA_SECURITY_PROTOCOL is {protocol!r}; valid: {list(PROTOCOLS)}")
        if mechanism not in LOGIN_MODULES:
            raise KafkaSecurityError(f"STREAMSCORE_KAFKA_SASL_MECHANISM is {mechanism!r}; valid: {list(LOGIN_MODULES)}")
        password_file = (
            Path(environ["STREAMSCORE_KAFKA_PASSWORD_FILE"]) if "STREAMSCORE_KAFKA_PASSWORD_FILE" in environ else None
        )
        ca_file = Path(environ["STREAMSCORE_KAFKA_CA_FILE"]) if "STREAMSCORE_KAFKA_CA_FILE" in environ else None
        security = cls(
            protocol=protocol,
            mechanism=mechanism,
            username=environ.get("STREAMSCORE_KAFKA_USERNAME"),
            password_file=password_file.resolve() if password_file else None,
            password_in_env=PASSWORD_VARIABLE in environ,
            ca_file=ca_file.resolve() if ca_file else None,
        )
        security.check()
        return security

    def describe(self) -> str:
        """How this client connects, for error messages: never the password."""
        who = f" as {self.username!r} with {self.mechanism}" if self.sasl else ""
        trust = f", trusting {self.ca_file}" if self.tls and self.ca_file else ""
        return f"{self.protocol}{who}{trust}"

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def check(self) -> None:
        if self.sasl and not self.username:
            raise KafkaSecurityError(f"{self.protocol} needs STREAMSCORE_KAFKA_USERNAME")
        if self.sasl and self.password_file is None and not self.password_in_env:
            raise KafkaSecurityError(
                f"{self.protocol} needs STREAMSCORE_KAFKA_PASSWORD_FILE (a file holding the password) "
                f"or {PASSWORD_VARIABLE}"
            )
        for what, path in (
            ("STREAMSCORE_KAFKA_PASSWORD_FILE", self.password_file),
            ("STREAMSCORE_KAFKA_CA_FILE", self.ca_file),
        ):
            if path is not None and not path.is_file():
                raise KafkaSecurityError(f"{what} is {path}, which is not a readable file")

    def _password(self) -> str:
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return os.environ[PASSWORD_VARIABLE]

    def python_options(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's producer, consumer and admin clients."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl:
            options |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self._password(),
            }
        if self.tls:
            options |= {"ssl_check_hostname": True, "ssl_cafile": str(self.ca_file) if self.ca_file else None}
        return options

    def librdkafka_options(self) -> dict[str, str]:
        """Configuration for a confluent-kafka (librdkafka) client: the latency benchmark's producer and reader."""
        options = {"security.protocol": self.protocol}
        if self.sasl:
            options |= {
                "sasl.mechanism": self.mechanism,
                "sasl.username": self.username or "",
                "sasl.password": self._password(),
            }
        if self.tls and self.ca_file is not None:
            options["ssl.ca.location"] = str(self.ca_file)
        return options

    def java_properties(self, class_prefix: str = "") -> dict[str, str]:
        """Kafka Java client properties; the password only as a config-provider reference.

        Args:
            class_prefix: where the client's Kafka classes were relocated (`FLINK_SHADED` for Flink's
                SQL connector, "" for Spark's Kafka source and sink).
        """
        properties = {"security.protocol": self.protocol}
        if self.sasl:
            if self.password_file is not None:
                provider, provider_class = "dir", "DirectoryConfigProvider"
                reference = f"${{dir:{self.password_file.parent}:{self.password_file.name}}}"
            else:
                provider, provider_class = "env", "EnvVarConfigProvider"
                reference = f"${{env:{PASSWORD_VARIABLE}}}"
            module = class_prefix + LOGIN_MODULES[self.mechanism]
            properties |= {
                "sasl.mechanism": self.mechanism,
                "sasl.jaas.config": f'{module} required username="{self.username}" password="{reference}";',
                "config.providers": provider,
                f"config.providers.{provider}.class": f"{class_prefix}{PROVIDERS}.{provider_class}",
            }
        if self.tls and self.ca_file is not None:
            properties |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(self.ca_file)}
        return properties
