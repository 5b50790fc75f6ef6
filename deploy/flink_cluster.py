"""A Flink standalone cluster (one JobManager, TaskManagers) from the apache-flink wheel's own scripts."""

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import requests

from streamscore.deploy.process import Service, StackConfig, StackError, command_line, port_open

PROMETHEUS_PORTS = 10  # the JobManager and up to nine TaskManagers on one host
_RESOURCE_ID = "-Dtaskmanager.resource-id="


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).parent


def _default_java_opts() -> str:
    """`env.java.opts.all` of the wheel's own config.yaml: the --add-opens Flink needs on JDK 17."""
    import yaml

    config = yaml.safe_load((flink_home() / "conf" / "config.yaml").read_text())
    return str(config.get("env", {}).get("java", {}).get("opts", {}).get("all", ""))


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
                    # RocksDB's block cache and write buffers come from managed memory (shared with the
                    # Python workers, 70:30): 1.3 GB per slot instead of 0.5 made the job 1.28x faster
                    # per core at 200k keys (2M events) in the bench (now 1.5: 3 GB fixed); it is reserved,
                    # not taken, until state fills it.
                    # The rest is heap: the job allocates per row, and with 1.2 GB G1 spent ~10 % of the
                    # TaskManager's CPU; 3.4 GB of heap and the throughput collector (no concurrent marking,
                    # no write barriers) made the job 1.14x faster per core (2M events over 200k keys, p1,
                    # three runs each on a fresh TaskManager: 26,677 -> 30,308 per core-second; G1 with the
                    # same heap 28,156). The latency profile's p99 at 15,000 events/s stayed at 95 ms.
                    "taskmanager.memory.process.size: 8192m",
                    "taskmanager.memory.managed.size: 3072m",
                    "env.java.opts.taskmanager: -XX:+UseParallelGC",
                    f"taskmanager.numberOfTaskSlots: {self.config.flink_slots}",
                    "parallelism.default: 1",
                    "cluster.evenly-spread-out-slots: true",  # a job of parallelism 2 runs on both TaskManagers
                    "execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION",
                    # A killed TaskManager is declared lost after two failed heartbeat RPCs: 20 s at the
                    # default 10 s interval (most of the 31.9 s a job took to recover in the resilience
                    # test), 4 s at 2 s. Loopback heartbeats cost nothing.
                    "heartbeat.interval: 2000",
                    "state.backend.type: rocksdb",
                    f"execution.checkpointing.dir: file://{home / 'checkpoints'}",
                    f"execution.checkpointing.savepoint-dir: file://{home / 'savepoints'}",
                    # Where a job with `state.changelog.enabled` writes its state changes: the TaskManager's
                    # setting, not the job's (the default, memory, is for tests and loses them).
                    "state.changelog.storage: filesystem",
                    f"dstl.dfs.base-path: file://{home / 'changelog'}",
                    # Where a client started from this environment logs (`flink run`, a PyFlink gateway):
                    # the cluster's processes are told by FLINK_LOG_DIR.
                    f"env.log.dir: {self.config.home / 'logs'}",
                    f"python.executable: {sys.executable}",
                    f"python.client.executable: {sys.executable}",
                    # The wheel's JDK 17 module opens, plus the marker that lets `pid()` recognise our JVMs.
                    f"env.java.opts.all: {_default_java_opts()} -Dstreamscore.home={self.config.home}",
                    *self._prometheus(),
                    "",
                ]
            )
        )
        source = flink_home() / "conf"
        for name in ("log4j.properties", "log4j-console.properties", "log4j-cli.properties"):  # cli: the clients
            (conf / name).write_text((source / name).read_text())
        self._link_lib()

    def _prometheus(self) -> list[str]:
        """Flink's Prometheus reporter, one port per process from the range (JobManager, TaskManagers).

        Flink's reporter has no bind-address option and listens on every interface, which is why
        the local stack leaves it off unless asked for."""
        port = self.config.flink_prometheus_port
        if port is None:
            return []
        plugin = self.config.home / "flink" / "plugins" / "prometheus"
        plugin.mkdir(parents=True, exist_ok=True)
        for jar in self.config.jar_dir("flink-metrics").glob("flink-metrics-prometheus-*.jar"):
            if not (plugin / jar.name).exists():
                (plugin / jar.name).symlink_to(jar)
        return [
            "metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
            f"metrics.reporter.prom.port: {port}-{port + PROMETHEUS_PORTS - 1}",
        ]

    def _link_lib(self) -> None:
        """The wheel's lib/ plus opt/flink-python: a cluster must load PyFlink's operators itself."""
        lib = self.lib_dir
        lib.mkdir(parents=True, exist_ok=True)
        wanted = [*(flink_home() / "lib").glob("*.jar"), *(flink_home() / "opt").glob("flink-python-*.jar")]
        for jar in wanted:
            link = lib / jar.name
            if not link.exists():
                link.symlink_to(jar)

    @property
    def lib_dir(self) -> Path:
        return self.config.home / "flink" / "lib"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["FLINK_CONF_DIR"] = str(self.conf_dir)
        env["FLINK_LOG_DIR"] = str(self.config.home / "logs")
        env["FLINK_HOME"] = str(flink_home())
        env["FLINK_LIB_DIR"] = str(self.lib_dir)
        env["FLINK_PLUGINS_DIR"] = str(self.config.home / "flink" / "plugins")
        return env

    def command(self) -> list[str]:
        return ["bash", str(flink_home() / "bin" / self.script), "start-foreground"]

    def _rest(self, path: str) -> dict[str, Any] | None:
        """The JobManager's answer to GET `path` (None: not up, or not answering it)."""
        try:
            response = requests.get(f"{self.address}/{path}", timeout=2)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None


class FlinkJobManager(_FlinkProcess):
    name = "flink-jobmanager"
    script = "jobmanager.sh"

    def healthy(self) -> bool:
        return self._rest("overview") is not None


class FlinkTaskManager(_FlinkProcess):
    """TaskManager `index` of the standalone cluster (each with its own log folder).

    Each start gets a resource id of its own, on its command line, so that health means "this very
    process has registered": a restarted TaskManager must not pass for healthy on the registration
    its killed predecessor left behind until the JobManager notices it is gone."""

    script = "taskmanager.sh"

    def __init__(self, config: StackConfig, index: int = 1) -> None:
        self.index = index
        self.name = "flink-taskmanager" if index == 1 else f"flink-taskmanager-{index}"
        super().__init__(config)

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.index > 1:  # Flink names its log after the host: one folder per TaskManager keeps them apart
            env["FLINK_LOG_DIR"] = str(self.config.home / "logs" / self.name)
        return env

    def command(self) -> list[str]:
        return [*super().command(), f"{_RESOURCE_ID}{self.name}-{uuid.uuid4().hex[:8]}"]

    def start(self) -> None:
        if not port_open(self.config.flink_rest_port):
            raise StackError("start the Flink JobManager before its TaskManager")
        super().start()

    def prepare(self) -> None:
        """The JobManager wrote the shared configuration already."""

    @property
    def port(self) -> None:
        return None

    def resource_id(self) -> str | None:
        """The id this TaskManager registers with, read from the running process's command line."""
        pid = self.pid()
        args = command_line(pid) if pid is not None else None
        return next((a.removeprefix(_RESOURCE_ID) for a in args or () if a.startswith(_RESOURCE_ID)), None)

    def healthy(self) -> bool:
        resource_id = self.resource_id()
        registered = (self._rest("taskmanagers") or {}).get("taskmanagers", []) if resource_id else []
        return any(tm.get("id") == resource_id for tm in registered)
