"""A Spark standalone cluster (one master, one worker) from the installed pyspark's `spark-class`.

The same `spark-submit batch/<job>.py` that runs on `local[*]` runs here with
`--master spark://127.0.0.1:<port>`: proof that the jobs do not depend on running in one JVM.
"""

import os
import sys
from pathlib import Path

import requests

from streamscore.deploy.process import Service, StackError


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


class _SparkProcess(Service):
    deploy_class: str

    @property
    def address(self) -> str:
        return self.config.spark_master_url

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SPARK_HOME"] = str(spark_home())
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
        env["SPARK_LOG_DIR"] = str(self.config.home / "logs")
        env["SPARK_WORKER_DIR"] = str(self.dir / "work")
        env["PYSPARK_PYTHON"] = sys.executable
        # The marker that lets `pid()` recognise our JVM in /proc/<pid>/cmdline.
        env["SPARK_DAEMON_JAVA_OPTS"] = f"-Dstreamscore.home={self.config.home}"
        return env

    def _state(self) -> dict[str, object] | None:
        try:
            response = requests.get(f"http://127.0.0.1:{self.config.spark_ui_port}/json/", timeout=2)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None


class SparkMaster(_SparkProcess):
    name = "spark-master"

    @property
    def port(self) -> int:
        return self.config.spark_port

    def command(self) -> list[str]:
        return [
            str(spark_home() / "bin" / "spark-class"),
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.config.spark_port),
            "--webui-port",
            str(self.config.spark_ui_port),
        ]

    def healthy(self) -> bool:
        state = self._state()
        return state is not None and state.get("status") == "ALIVE"


class SparkWorker(_SparkProcess):
    name = "spark-worker"

    @property
    def port(self) -> None:
        return None

    def start(self) -> None:
        if not SparkMaster(self.config).healthy():
            raise StackError("start the Spark master before its worker")
        super().start()

    def command(self) -> list[str]:
        return [
            str(spark_home() / "bin" / "spark-class"),
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            "127.0.0.1",
            "--cores",
            str(os.cpu_count() or 2),
            "--memory",
            "6g",
            "--webui-port",
            str(self.config.spark_ui_port + 1),
            self.config.spark_master_url,
        ]

    def healthy(self) -> bool:
        state = self._state()
        return state is not None and int(str(state.get("aliveworkers", 0))) >= 1
