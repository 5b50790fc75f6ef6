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
    """KRaft broker `node` (broker and controller in one process) with a plaintext listener and a SASL_SSL
    one (SCRAM-SHA-512 user and TLS certificate from deploy/local_secrets.py, shared by all brokers).

    One broker forms a quorum by itself (`--standalone`); several are static voters of one quorum, so
    they can only become healthy together (`up` launches them all before waiting)."""

    def __init__(self, config: StackConfig, node: int = 1) -> None:
        self.node = node
        self.name = "kafka" if node == 1 else f"kafka-{node}"
        super().__init__(config)

    @property
    def port(self) -> int:
        return self.config.broker_port(self.config.kafka_port, self.node)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def secrets(self) -> BrokerSecrets:
        return self.config.broker_secrets

    def _quorum(self) -> str:
        c = self.config
        if c.kafka_brokers == 1:
            return f"controller.quorum.bootstrap.servers=127.0.0.1:{c.controller_port}"
        voters = (f"{n}@127.0.0.1:{c.broker_port(c.controller_port, n)}" for n in range(1, c.kafka_brokers + 1))
        return f"controller.quorum.voters={','.join(voters)}"

    def _properties(self) -> str:
        c, tls = self.config, self.secrets
        plain, controller = self.port, c.broker_port(c.controller_port, self.node)
        secure = f"SECURE://127.0.0.1:{c.broker_port(c.kafka_secure_port, self.node)}"
        replicas = min(3, c.kafka_brokers)
        min_isr = 2 if replicas == 3 else 1
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={self.node}",
                self._quorum(),
                f"listeners=PLAINTEXT://127.0.0.1:{plain},{secure},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{plain},{secure}",
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
                f"default.replication.factor={replicas}",
                f"min.insync.replicas={min_isr}",
                f"offsets.topic.replication.factor={replicas}",
                f"transaction.state.log.replication.factor={replicas}",
                f"transaction.state.log.min.isr={min_isr}",
                f"share.coordinator.state.topic.replication.factor={replicas}",
                f"share.coordinator.state.topic.min.isr={min_isr}",
                "group.initial.rebalance.delay.ms=0",
                "transaction.max.timeout.ms=900000",
                # Keep every record: the demo, tests and benchmarks replay history with its event times as
                # record timestamps, which the default 7-day retention deletes at its next check (one came
                # 30 s after the broker started and took a test's whole input).
                "log.retention.ms=-1",
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
        id_file = self.config.home / "kafka" / "cluster-id"  # one id for every broker of the cluster
        if not id_file.exists():
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
        cluster_id = id_file.read_text()
        result = subprocess.run(
            [
                java(),
                "-cp",
                f"{self.config.jar_dir('kafka')}/*",
                f"-Dlog4j2.configurationFile={self.dir}/log4j2.properties",
                "kafka.tools.StorageTool",
                "format",
                *(["--standalone"] if self.config.kafka_brokers == 1 else []),
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


def brokers(config: StackConfig) -> list[KafkaBroker]:
    return [KafkaBroker(config, node) for node in range(1, config.kafka_brokers + 1)]


def services(config: StackConfig, flink: bool, spark: bool = False) -> list[Service]:
    """Services in start order; `down` stops them in reverse."""
    chosen: list[Service] = [*brokers(config), SchemaRegistry(config)]
    if flink:
        chosen += [FlinkJobManager(config)]
        chosen += [FlinkTaskManager(config, n) for n in range(1, config.flink_taskmanagers + 1)]
    if spark:
        chosen += [SparkMaster(config), SparkWorker(config)]
    return chosen


def up(
    config: StackConfig, flink: bool, on_start: Callable[[Service], None] | None = None, spark: bool = False
) -> None:
    """Start what is not running. Kafka starts from empty storage whenever the registry starts fresh (no
    old schema id may survive in a topic) or the layout changed (another quorum)."""
    layout = config.home / "layout"  # read back by StackConfig.from_env, so every command sees this layout
    if SchemaRegistry(config).pid() is None or not layout.exists() or layout.read_text() != config.layout:
        down(config)
        for broker in brokers(config.cluster()):
            shutil.rmtree(broker.dir / "data", ignore_errors=True)
        (config.home / "kafka" / "cluster-id").unlink(missing_ok=True)
        layout.parent.mkdir(parents=True, exist_ok=True)
        layout.write_text(config.layout)
    chosen = services(config, flink, spark)
    quorum = [s for s in chosen if isinstance(s, KafkaBroker)]
    for broker in quorum:
        if on_start is not None:
            on_start(broker)
    launched = [broker.launch() for broker in quorum]
    for broker, process in zip(quorum, launched, strict=True):
        broker.wait_healthy(process)
    for service in chosen[len(quorum) :]:
        if on_start is not None:
            on_start(service)
        service.start()


def down(config: StackConfig) -> list[str]:
    """Stop every service that has a PID file (in cluster mode or not), Flink first; returns the names stopped."""
    widest = config.cluster() if config.kafka_brokers <= 3 and config.flink_taskmanagers <= 2 else config
    return [s.name for s in reversed(services(widest, flink=True, spark=True)) if s.stop()]
