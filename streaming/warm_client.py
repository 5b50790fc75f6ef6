"""A Flink client that stays up: plans and submits score jobs one after another from one PyFlink
gateway, for a process that submits many (benchmarks/). Each `flink run` starts a JVM and plans cold,
15 s a job here; this gateway plans the same job (streaming/score_job.py) in 3.5-4.6 s once warm.

The client is a process of its own (`WarmClient` starts it) that plans in its main thread only, one
job at a time, with Python's cyclic garbage collector paused meanwhile. A table environment is bound
to the gateway thread that made it (Calcite's metadata handlers are thread-local; `pipeline.jars`
reach that thread's class loader), and py4j answers a call on the Java thread of the connection the
calling Python thread borrows. Planned inside the benchmark's own process, whose other threads
also run finalizers that release gateway objects, a job's planning moved to a second Java thread
and failed (CI, 2026-11-29: "NullPointerException: metadataHandlerProvider").

Protocol: one JSON list of score_job arguments per line on the client's stdin; one JSON object per
line back on its stdout, {"job_id": ...} or {"error": ...}; what the gateway prints goes to stderr.
"""

import gc
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import IO, Any, Unpack

import yaml

from streamscore.deploy.stack import StackConfig
from streamscore.shared.errors import StreamscoreError
from streamscore.streaming.submit import JobOptions, Submission, client_environment, job_arguments


class WarmClient:
    """Submits jobs as `flink_run` does (attached until a bounded job ends), through one warm client
    process; a context manager that stops that process (and its gateway JVM) on exit."""

    def __init__(self, stack: StackConfig) -> None:
        self.stack = stack
        self.log_path = stack.home / "logs" / "warm-client.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **client_environment(stack),
            "FLINK_LIB_DIR": str(_gateway_lib(stack)),
            # Python workers on the TaskManagers, as under `flink run`: a table environment created in a
            # Python process otherwise serves them from that process ("loopback", for local runs), which
            # would charge the job's scoring to the client.
            "_python_worker_execution_mode": "process",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamscore.streaming.warm_client"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )

    def run(self, pipeline: Path, workdir: Path, *, group_id: str, **options: Unpack[JobOptions]) -> Submission:
        stdin, stdout = self._pipes()
        stdin.write(json.dumps(job_arguments(self.stack, pipeline, workdir, group_id, options)) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise StreamscoreError(f"the warm Flink client exited (code {self.process.wait()}); see {self.log_path}")
        reply = json.loads(line)
        if "error" in reply:
            raise StreamscoreError(f"the job failed: {reply['error']}")
        return Submission(reply["job_id"], "")

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        if self.process.stdin is None or self.process.stdout is None:
            raise StreamscoreError("the warm Flink client has no pipes")
        return self.process.stdin, self.process.stdout

    def close(self) -> None:
        """Closing its stdin ends the client, which stops its gateway."""
        stdin, _ = self._pipes()
        stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "WarmClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gateway_lib(stack: StackConfig) -> Path:
    """The cluster's lib/ plus the job's jars: the gateway's classpath, so that the planning's calls
    into a job jar (the Avro schema parser) find their classes on any thread."""
    lib = stack.home / "flink" / "warm-client-lib"
    lib.mkdir(parents=True, exist_ok=True)
    for old in lib.iterdir():  # no link left to an older jar version
        old.unlink()
    for jar in [*(stack.home / "flink" / "lib").glob("*.jar"), *stack.flink_jars()]:
        if not (lib / jar.name).exists():
            (lib / jar.name).symlink_to(jar.resolve())
    return lib


def _serve() -> None:
    from pyflink.common import Configuration
    from pyflink.table import EnvironmentSettings

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the gateway JVM, started below, inherits fd 1: keep its output off the replies
    config = Configuration()  # what `flink run` reads: the cluster's address and the jobs' defaults
    conf_dir = Path(os.environ["FLINK_CONF_DIR"])
    for key, value in yaml.safe_load((conf_dir / "config.yaml").read_text()).items():
        config.set_string(key, str(value).lower() if isinstance(value, bool) else str(value))
    config.set_string("execution.target", "remote")
    environment = EnvironmentSettings.new_instance().in_streaming_mode().with_configuration(config).build()
    for line in sys.stdin:
        replies.write(json.dumps(_submit(json.loads(line), environment)) + "\n")


def _submit(arguments: list[str], environment: Any) -> dict[str, str | None]:
    from py4j.protocol import Py4JJavaError

    from streamscore.streaming.score_job import build_parser, start

    gc.disable()  # no finalizer may borrow the gateway connection while a job is planned
    try:
        args = build_parser().parse_args(arguments)
        result = start(args, environment)
        client = result.get_job_client()
        if args.bounded:
            result.wait()
        return {"job_id": str(client.get_job_id()) if client else None}
    except Py4JJavaError as exc:
        return {"error": _java_causes(exc.java_exception)}
    except Exception:  # a job's planning error is its answer; the client serves the next one
        return {"error": traceback.format_exc()}
    finally:
        gc.enable()


def _java_causes(exception: Any) -> str:
    """The exception and its causes, one per line: the root cause (a failed task) is the last."""
    lines: list[str] = []
    while exception is not None and len(lines) < 20:
        lines.append(str(exception.toString()))
        exception = exception.getCause()
    return "\n".join(lines)


if __name__ == "__main__":
    _serve()
