"""The local stack: a KRaft Kafka broker, Apicurio Registry and optionally a Flink standalone
cluster, as real processes on loopback, under one folder, stopped by the PIDs we started.

Each service is started in its own session so `down` can signal its whole process group, and
its PID file records the command line marker we check before signalling, so a recycled PID
belonging to someone else is never touched.
"""

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from streamscore.shared.errors import StreamscoreError


class StackError(StreamscoreError):
    """A stack service that cannot start, answer or stop."""


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives and which loopback ports it uses; override with STREAMSCORE_* variables."""

    home: Path
    kafka_port: int = 19092
    controller_port: int = 19093
    registry_port: int = 18081
    flink_rest_port: int = 18088
    flink_slots: int = 2

    @classmethod
    def from_env(cls) -> "StackConfig":
        home = Path(os.environ.get("STREAMSCORE_HOME", ".stack")).resolve()
        ports = {
            field: int(os.environ[var])
            for field, var in (
                ("kafka_port", "STREAMSCORE_KAFKA_PORT"),
                ("controller_port", "STREAMSCORE_CONTROLLER_PORT"),
                ("registry_port", "STREAMSCORE_REGISTRY_PORT"),
                ("flink_rest_port", "STREAMSCORE_FLINK_PORT"),
            )
            if var in os.environ
        }
        return cls(home=home, **ports)

    @property
    def jars(self) -> Path:
        return self.home / "jars"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def registry_url(self) -> str:
        """The registry's Confluent-compatible API root, what Confluent clients and Flink expect."""
        return f"http://127.0.0.1:{self.registry_port}/apis/ccompat/v7"

    @property
    def flink_rest_url(self) -> str:
        return f"http://127.0.0.1:{self.flink_rest_port}"

    def jar_dir(self, module: str) -> Path:
        path = self.jars / module
        if not path.is_dir() or not any(path.iterdir()):
            raise StackError(f"no jars in {path}; fetch them with `make setup` (Maven, deploy/jvm/pom.xml)")
        return path


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ProcessStatus:
    name: str
    pid: int | None
    running: bool
    healthy: bool
    address: str


class Service(ABC):
    """One long-running process of the stack."""

    name: str
    startup_timeout_s: float = 120.0

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir = config.home / self.name
        self.pid_file = config.home / "pids" / f"{self.name}.pid"
        self.log_file = config.home / "logs" / f"{self.name}.log"

    @property
    @abstractmethod
    def address(self) -> str: ...

    @property
    @abstractmethod
    def port(self) -> int | None:
        """The port the service listens on, checked for strangers before starting; None if none."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line; prepared files (configs, formatted storage) exist when it is called."""

    def prepare(self) -> None:  # noqa: B027  (most services need no preparation)
        """Write configuration and initialise storage before the first start."""

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    @abstractmethod
    def healthy(self) -> bool:
        """True only when the service does real work (produce/consume, answer API calls)."""

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if self._ours(pid) else None

    def _ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return str(self.config.home) in cmdline

    def status(self) -> ProcessStatus:
        pid = self.pid()
        running = pid is not None
        return ProcessStatus(self.name, pid, running, running and self.healthy(), self.address)

    def start(self) -> None:
        """Start unless already running; returns once healthy or raises StackError with the log's tail."""
        if self.pid() is not None:
            self.wait_healthy()
            return
        if self.port is not None and _port_open(self.port):
            raise StackError(
                f"{self.name}: port {self.port} is taken by a process this stack did not start; "
                f"stop it or set another port (see README, 'Local stack')"
            )
        for folder in (self.dir, self.pid_file.parent, self.log_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                cwd=self.dir,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        self.wait_healthy(process)

    def wait_healthy(self, process: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise StackError(
                    f"{self.name} exited with code {process.returncode}; see {self.log_file}:\n{self._log_tail()}"
                )
            if self.healthy():
                return
            time.sleep(1.0)
        raise StackError(
            f"{self.name} not healthy after {self.startup_timeout_s:.0f} s; see {self.log_file}:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the process group we started, SIGKILL after `timeout_s`; False if nothing ran."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        if not _wait_exit(pid, timeout_s):
            _signal_group(pid, signal.SIGKILL)
            _wait_exit(pid, 10.0)
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _wait_exit(pid: int, timeout_s: float) -> bool:
    """True once `pid` is gone or a zombie (exited, waiting for its parent to reap it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return True
        time.sleep(0.2)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


class KafkaBroker(Service):
    """A single-node KRaft broker (broker and controller in one process)."""

    name = "kafka"

    @property
    def port(self) -> int:
        return self.config.kafka_port

    @property
    def address(self) -> str:
        return self.config.bootstrap_servers

    def _properties(self) -> str:
        c = self.config
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{c.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},CONTROLLER://127.0.0.1:{c.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{c.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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
                _java(),
                "-cp",
                f"{self.config.jar_dir('kafka')}/*",
                f"-Dlog4j2.configurationFile={self.dir}/log4j2.properties",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
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
            _java(),
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
        if not _port_open(self.port):
            return False
        from streamscore.deploy.kafka_io import round_trip

        return round_trip(self.address)


class SchemaRegistry(Service):
    """Apicurio Registry with its H2 store on disk, so registered ids survive a restart."""

    name = "registry"

    @property
    def port(self) -> int:
        return self.config.registry_port

    @property
    def address(self) -> str:
        return self.config.registry_url

    def command(self) -> list[str]:
        store = self.dir / "h2" / "registry"
        return [
            _java(),
            "-Xms256m",
            "-Xmx768m",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={self.port}",
            f"-Dregistry.datasource.url=jdbc:h2:file:{store};DB_CLOSE_ON_EXIT=FALSE",
            "-Dquarkus.log.level=WARN",
            "-jar",
            str(self.config.jar_dir("registry") / "registry-runner.jar"),
        ]

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.address}/subjects", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def _flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).parent


class _FlinkProcess(Service):
    """A Flink standalone process from the apache-flink wheel, run in the foreground so we own its PID."""

    script: str

    @property
    def port(self) -> int:
        return self.config.flink_rest_port

    @property
    def address(self) -> str:
        return self.config.flink_rest_url

    @property
    def conf_dir(self) -> Path:
        return self.config.home / "flink" / "conf"

    def prepare(self) -> None:
        conf = self.conf_dir
        conf.mkdir(parents=True, exist_ok=True)
        home = self.config.home / "flink"
        (conf / "config.yaml").write_text(
            "\n".join(
                [
                    "jobmanager.rpc.address: 127.0.0.1",
                    f"jobmanager.rpc.port: {self.config.flink_rest_port + 1}",  # not Flink's default 6123
                    "jobmanager.bind-host: 127.0.0.1",
                    "taskmanager.bind-host: 127.0.0.1",
                    "taskmanager.host: 127.0.0.1",
                    "rest.address: 127.0.0.1",
                    "rest.bind-address: 127.0.0.1",
                    f"rest.port: {self.config.flink_rest_port}",
                    "jobmanager.memory.process.size: 1024m",
                    "taskmanager.memory.process.size: 3072m",
                    f"taskmanager.numberOfTaskSlots: {self.config.flink_slots}",
                    "parallelism.default: 1",
                    "state.backend.type: rocksdb",
                    f"execution.checkpointing.dir: file://{home / 'checkpoints'}",
                    f"execution.checkpointing.savepoint-dir: file://{home / 'savepoints'}",
                    f"python.executable: {sys.executable}",
                    f"python.client.executable: {sys.executable}",
                    "",
                ]
            )
        )
        source = _flink_home() / "conf"
        for name in ("log4j.properties", "log4j-console.properties"):
            (conf / name).write_text((source / name).read_text())

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["FLINK_CONF_DIR"] = str(self.conf_dir)
        env["FLINK_LOG_DIR"] = str(self.config.home / "logs")
        env["FLINK_HOME"] = str(_flink_home())
        # The marker that lets `pid()` recognise our process in /proc/<pid>/cmdline.
        env["FLINK_ENV_JAVA_OPTS"] = f"-Dstreamscore.home={self.config.home}"
        return env

    def command(self) -> list[str]:
        return ["bash", str(_flink_home() / "bin" / self.script), "start-foreground"]

    def _overview(self) -> dict[str, int] | None:
        try:
            response = requests.get(f"{self.address}/overview", timeout=2)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None


class FlinkJobManager(_FlinkProcess):
    name = "flink-jobmanager"
    script = "jobmanager.sh"

    def healthy(self) -> bool:
        return self._overview() is not None


class FlinkTaskManager(_FlinkProcess):
    name = "flink-taskmanager"
    script = "taskmanager.sh"

    def start(self) -> None:
        if not _port_open(self.config.flink_rest_port):
            raise StackError("start the Flink JobManager before its TaskManager")
        super().start()

    def prepare(self) -> None:
        """The JobManager wrote the shared configuration already."""

    @property
    def port(self) -> None:
        return None

    def healthy(self) -> bool:
        overview = self._overview()
        return overview is not None and overview.get("taskmanagers", 0) >= 1


def services(config: StackConfig, flink: bool) -> list[Service]:
    """Services in start order; `down` stops them in reverse."""
    chosen: list[Service] = [KafkaBroker(config), SchemaRegistry(config)]
    if flink:
        chosen += [FlinkJobManager(config), FlinkTaskManager(config)]
    return chosen


def up(config: StackConfig, flink: bool, on_start: Callable[[Service], None] | None = None) -> None:
    for service in services(config, flink):
        if on_start is not None:
            on_start(service)
        service.start()


def down(config: StackConfig) -> list[str]:
    """Stop every service that has a PID file, Flink first; returns the names stopped."""
    stopped = [s.name for s in reversed(services(config, flink=True)) if s.stop()]
    return stopped
