"""Submitting the scoring job to a Flink cluster with `flink run`, exactly as an operator would.

The CLI, the demo and the tests all go through here, so what they exercise is the real path: the
Flink client runs streaming/score_job.py, which builds the job and submits it to the cluster
named by FLINK_CONF_DIR; TaskManagers start Python workers for the scoring UDF. The benchmarks,
which submit a job per variant, plan the same job in a client that stays up
(streaming/warm_client.py).
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack

from streamscore.deploy.flink_cluster import flink_home
from streamscore.deploy.stack import StackConfig
from streamscore.shared.errors import StreamscoreError

JOB_FILE = Path(__file__).resolve().parent / "score_job.py"


@dataclass(frozen=True)
class Submission:
    job_id: str | None
    output: str


class JobOptions(TypedDict, total=False):
    """How a job runs, whichever client submits it: streaming/score_job.py's options."""

    bounded: bool
    """Stop at the offsets that were latest at start; the client waits for the end."""
    profile: str | None
    parallelism: int | None
    until: str | None
    """The JVM path alone, up to one of score_job.JVM_STAGES (benchmarks)."""
    bootstrap: str | None
    """Kafka bootstrap servers other than the local stack's (a secured listener)."""


def job_arguments(stack: StackConfig, pipeline: Path, workdir: Path, group_id: str, options: JobOptions) -> list[str]:
    """streaming/score_job.py's command line."""
    arguments = ["--pipeline", str(pipeline.resolve()), "--workdir", str(workdir.resolve())]
    bootstrap = options.get("bootstrap") or stack.bootstrap_servers
    arguments += ["--group-id", group_id, "--bootstrap", bootstrap, "--registry-url", stack.registry_url]
    if options.get("bounded"):
        arguments.append("--bounded")
    for name in ("profile", "parallelism", "until"):
        value = options.get(name)
        if value:
            arguments += [f"--{name}", str(value)]
    return arguments


def client_environment(stack: StackConfig) -> dict[str, str]:
    """What a Flink client needs to find the local cluster, its jars and this Python environment."""
    return {
        "FLINK_CONF_DIR": str(stack.home / "flink" / "conf"),
        "FLINK_HOME": str(flink_home()),
        "FLINK_LIB_DIR": str(stack.home / "flink" / "lib"),
        "PYFLINK_CLIENT_EXECUTABLE": sys.executable,
        "STREAMSCORE_HOME": str(stack.home),
    }


def flink_run(
    stack: StackConfig,
    pipeline: Path,
    workdir: Path,
    *,
    group_id: str,
    timeout_s: float | None = None,
    savepoint: str | None = None,
    kafka_env: dict[str, str] | None = None,
    **options: Unpack[JobOptions],
) -> Submission:
    """Run the job on the local cluster: attached until it ends if `bounded`, else detached; from
    `savepoint` (state and Kafka offsets) when upgrading a stopped job. A secured broker: its `bootstrap`
    servers and the STREAMSCORE_KAFKA_* variables of deploy/kafka_security.py in `kafka_env`."""
    command = [str(flink_home() / "bin" / "flink"), "run"]
    if savepoint:
        command += ["--fromSavepoint", savepoint]
    if not options.get("bounded"):
        command.append("--detached")
    command += ["--python", str(JOB_FILE), *job_arguments(stack, pipeline, workdir, group_id, options)]
    env = {**os.environ, **client_environment(stack), **(kafka_env or {})}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise StreamscoreError(f"flink run failed with exit code {result.returncode}:\n{_causes(output)}")
    job_id = next((line.split()[-1] for line in output.splitlines() if line.startswith("submitted job ")), None)
    return Submission(job_id, output)


def _causes(output: str, limit: int = 40) -> str:
    """The client's messages without the Java stack frames: the root cause (a missing savepoint file, a
    Python traceback from the job's planning) sits above the frames, which would fill any tail."""
    kept: list[str] = []
    for line in output.splitlines():
        frame = line.lstrip().startswith(("at ", "... ")) and line[:1].isspace()
        if line.strip() and not frame and line not in kept:
            kept.append(line)
    return "\n".join(kept[-limit:])
