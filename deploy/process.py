"""A service of the local stack: one long-running process on loopback, stopped by the PID we started.

Each service is started in its own session so `down` can signal its whole process group, and
its PID file records the command line marker we check before signalling, so a recycled PID
belonging to someone else is never touched.
"""

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from streamscore.deploy.local_secrets import SCRAM_USER, BrokerSecrets
from streamscore.shared.errors import StreamscoreError


class StackError(StreamscoreError):
    """A stack service that cannot start, answer or stop."""


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives and which loopback ports it uses; override with STREAMSCORE_* variables."""

    home: Path
    kafka_port: int = 19092
    controller_port: int = 19093
    kafka_secure_port: int = 19094
    """The broker's SASL_SSL listener (SCRAM-SHA-512 over TLS), beside the plaintext one."""
    kafka_brokers: int = 1
    """Brokers (each also a KRaft controller); broker n listens on the ports above + 10 * (n - 1). With 3,
    topics get replication 3 and min.insync.replicas 2: the cluster mode of the resilience tests."""
    flink_taskmanagers: int = 1
    registry_port: int = 18081
    flink_rest_port: int = 18088
    flink_slots: int = 2
    spark_port: int = 17077
    spark_ui_port: int = 18090
    kafka_bootstrap: str | None = None
    """Where clients (CLI, jobs, benchmarks) find Kafka, when not at the local broker's plaintext listener:
    STREAMSCORE_KAFKA_BOOTSTRAP, e.g. the secured listener or a real cluster."""
    flink_prometheus_port: int | None = None
    """First port of the Flink processes' Prometheus endpoints (off when None); the spec's
    `streaming.prometheus_port` switches it on."""

    @classmethod
    def from_env(cls) -> "StackConfig":
        home = Path(os.environ.get("STREAMSCORE_HOME", ".stack")).resolve()
        overrides = {
            field: int(os.environ[var])
            for field, var in (
                ("kafka_port", "STREAMSCORE_KAFKA_PORT"),
                ("controller_port", "STREAMSCORE_CONTROLLER_PORT"),
                ("kafka_secure_port", "STREAMSCORE_KAFKA_SECURE_PORT"),
                ("registry_port", "STREAMSCORE_REGISTRY_PORT"),
                ("flink_rest_port", "STREAMSCORE_FLINK_PORT"),
                ("spark_port", "STREAMSCORE_SPARK_PORT"),
                ("spark_ui_port", "STREAMSCORE_SPARK_UI_PORT"),
                ("flink_prometheus_port", "STREAMSCORE_FLINK_PROMETHEUS_PORT"),
                ("kafka_brokers", "STREAMSCORE_KAFKA_BROKERS"),
                ("flink_taskmanagers", "STREAMSCORE_FLINK_TASKMANAGERS"),
            )
            if var in os.environ
        }
        layout = home / "layout"  # what `up` last started: "<brokers> <taskmanagers>"
        if layout.exists():
            brokers, taskmanagers = (int(n) for n in layout.read_text().split())
            overrides = {"kafka_brokers": brokers, "flink_taskmanagers": taskmanagers, **overrides}
        return cls(home=home, kafka_bootstrap=os.environ.get("STREAMSCORE_KAFKA_BOOTSTRAP"), **overrides)

    @property
    def layout(self) -> str:
        return f"{self.kafka_brokers} {self.flink_taskmanagers}"

    @property
    def jars(self) -> Path:
        return self.home / "jars"

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or self.local_bootstrap_servers

    def cluster(self) -> "StackConfig":
        """The same stack in cluster mode: three brokers, two TaskManagers."""
        return dataclasses.replace(self, kafka_brokers=3, flink_taskmanagers=2)

    def broker_port(self, port: int, node: int) -> int:
        return port + 10 * (node - 1)

    def _listeners(self, port: int) -> str:
        return ",".join(f"127.0.0.1:{self.broker_port(port, n)}" for n in range(1, self.kafka_brokers + 1))

    @property
    def local_bootstrap_servers(self) -> str:
        return self._listeners(self.kafka_port)

    @property
    def secure_bootstrap_servers(self) -> str:
        return self._listeners(self.kafka_secure_port)

    @property
    def broker_secrets(self) -> BrokerSecrets:
        """The secured listener's CA, certificate and SCRAM password, shared by every broker."""
        return BrokerSecrets(self.home / "kafka" / "secrets")

    def secure_client_env(self) -> dict[str, str]:
        """The STREAMSCORE_KAFKA_* variables (deploy/kafka_security.py) that reach the secured listener as
        the stack's SCRAM user; the password stays in its file."""
        broker = self.broker_secrets
        return {
            "STREAMSCORE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "STREAMSCORE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "STREAMSCORE_KAFKA_USERNAME": SCRAM_USER,
            "STREAMSCORE_KAFKA_PASSWORD_FILE": str(broker.password_file),
            "STREAMSCORE_KAFKA_CA_FILE": str(broker.ca_file),
        }

    @property
    def registry_url(self) -> str:
        """The registry's Confluent-compatible API root, what Confluent clients and Flink expect."""
        return f"http://127.0.0.1:{self.registry_port}/apis/ccompat/v7"

    @property
    def flink_rest_url(self) -> str:
        return f"http://127.0.0.1:{self.flink_rest_port}"

    @property
    def spark_master_url(self) -> str:
        return f"spark://127.0.0.1:{self.spark_port}"

    def jar_dir(self, module: str) -> Path:
        path = self.jars / module
        if not path.is_dir() or not any(path.iterdir()):
            raise StackError(f"no jars in {path}; fetch them with `make setup` (Maven, deploy/jvm/pom.xml)")
        return path

    def flink_jars(self) -> list[Path]:
        """What every Flink table environment of the project loads: connector, format and the project's UDFs."""
        return sorted(self.jar_dir("flink").glob("*.jar"))


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
        args = command_line(pid)
        return args is not None and str(self.config.home) in "\0".join(args)

    def status(self) -> ProcessStatus:
        pid = self.pid()
        running = pid is not None
        return ProcessStatus(self.name, pid, running, running and self.healthy(), self.address)

    def start(self) -> None:
        """Start unless already running; returns once healthy or raises StackError with the log's tail."""
        self.wait_healthy(self.launch())

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Start the process unless it runs already, without waiting for it (None if it ran): members of a
        quorum can only become healthy together."""
        if self.pid() is not None:
            return None
        if self.port is not None and port_open(self.port):
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
        return process

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


def command_line(pid: int) -> list[str] | None:
    """The arguments `pid` was started with (None: no such process)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None


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


def java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
