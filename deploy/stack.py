"""The local stack: a KRaft Kafka broker, Apicurio Registry and optionally a Flink standalone
cluster and a Spark standalone cluster, as real processes on loopback under one folder.
"""

import base64
import shutil
import subprocess
import uuid
from collections.abc import Callable

import requests

from streamscore.deploy.flink_cluster import FlinkJobManager, FlinkTaskManager
from streamscore.deploy.local_secrets import SCRAM_USER, BrokerSecrets
from streamscore.deploy.process import Service, StackConfig, StackError, java, port_open
from streamscore.deploy.spark_cluster import SparkMaster, SparkWorker

__all__ = ["KafkaBroker", "SchemaRegistry", "Service", "StackConfig", "StackError", "down", "services", "up"]


class KafkaBroker(Service):
    """A single-node KRaft broker (broker and controller in one process) with a plaintext listener and a
    SASL_SSL one (SCRAM-SHA-512 user and TLS certificate from deploy/local_secrets.py)."""

    name = "kafka"

    @property
    def port(self) -> int:
        return self.config.kafka_port

    @property
    def address(self) -> str:
        return self.config.local_bootstrap_servers

    @property
    def secrets(self) -> BrokerSecrets:
        return BrokerSecrets(self.dir / "secrets")

    def _properties(self) -> str:
        c, tls = self.config, self.secrets
        secure = f"SECURE://127.0.0.1:{c.kafka_secure_port}"
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{c.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},{secure},CONTROLLER://127.0.0.1:{c.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},{secure}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SECURE:SASL_SSL",
                "listener.name.secure.sasl.enabled.mechanisms=SCRAM-SHA-512",
                "listener.name.secure.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "listener.name.secure.ssl.keystore.type=PEM",
                f"listener.name.secure.ssl.keystore.location={tls.keystore_file}",
                f"log.dirs={self.dir / 'data'}",
                "num.partitions=2",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "transaction.max.timeout.ms=900000",
                "",
            ]
        )

    def prepare(self) -> None:
        self.secrets.ensure()
        properties = self.dir / "server.properties"
        properties.write_text(self._properties())
        (self.dir / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=out\nappender.out.type=Console\n"
            "appender.out.name=out\nappender.out.layout.type=PatternLayout\n"
            "appender.out.layout.pattern=[%d] %p %m (%c)%n\n"
        )
        if (self.dir / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                java(),
                "-cp",
                f"{self.config.jar_dir('kafka')}/*",
                f"-Dlog4j2.configurationFile={self.dir}/log4j2.properties",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                f"--cluster-id={cluster_id}",  # one glued argument: a random id may start with "-"
                f"--add-scram=SCRAM-SHA-512=[name={SCRAM_USER},password={self.secrets.password()}]",
                "-c",
                str(properties),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")

    def command(self) -> list[str]:
        return [
            java(),
            "-Xms512m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.dir}/log4j2.properties",
            "-cp",
            f"{self.config.jar_dir('kafka')}/*",
            "kafka.Kafka",
            str(self.dir / "server.properties"),
        ]

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        from streamscore.deploy.kafka_io import round_trip
        from streamscore.deploy.kafka_security import KafkaSecurity

        return round_trip(self.address, KafkaSecurity())  # the local plaintext listener, whatever the env says


class SchemaRegistry(Service):
    """Apicurio Registry 2.4 with in-memory storage: schema ids live as long as the process.

    Its SQL and KafkaSQL storage variants are separate builds whose artifacts the reachable Maven
    Central lacks, so `up` keeps Kafka and the registry coherent instead: whenever the registry
    starts fresh, the broker starts from empty storage too, and no record ever carries an id the
    registry does not know.
    """

    name = "registry"

    @property
    def port(self) -> int:
        return self.config.registry_port

    @property
    def address(self) -> str:
        return self.config.registry_url

    def command(self) -> list[str]:
        return [
            java(),
            "-Xms256m",
            "-Xmx768m",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.log.level=WARN",
            "-jar",
            str(self.config.jar_dir("registry") / "registry-runner.jar"),
        ]

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.address}/subjects", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def services(config: StackConfig, flink: bool, spark: bool = False) -> list[Service]:
    """Services in start order; `down` stops them in reverse."""
    chosen: list[Service] = [KafkaBroker(config), SchemaRegistry(config)]
    if flink:
        chosen += [FlinkJobManager(config), FlinkTaskManager(config)]
    if spark:
        chosen += [SparkMaster(config), SparkWorker(config)]
    return chosen


def up(
    config: StackConfig, flink: bool, on_start: Callable[[Service], None] | None = None, spark: bool = False
) -> None:
    broker = KafkaBroker(config)
    if SchemaRegistry(config).pid() is None:  # fresh registry: no old schema ids may survive in topics
        broker.stop()
        shutil.rmtree(broker.dir / "data", ignore_errors=True)
    for service in services(config, flink, spark):
        if on_start is not None:
            on_start(service)
        service.start()


def down(config: StackConfig) -> list[str]:
    """Stop every service that has a PID file, Flink first; returns the names stopped."""
    stopped = [s.name for s in reversed(services(config, flink=True, spark=True)) if s.stop()]
    return stopped
