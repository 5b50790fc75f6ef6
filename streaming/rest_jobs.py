"""A submitted job followed through the JobManager's REST API: what a caller not attached to a
running job (the latency benchmark, the tests) needs to watch, stop and explain it."""

import time

import requests

from streamscore.deploy.process import StackConfig
from streamscore.shared.errors import StreamscoreError

TERMINAL = frozenset({"FINISHED", "FAILED", "CANCELED"})


def job_state(stack: StackConfig, job_id: str) -> str:
    return str(requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=5).json()["state"])


def wait_running(stack: StackConfig, job_id: str, timeout_s: float = 120.0) -> float:
    """Until the job and every one of its tasks run (a job is RUNNING while its tasks still deploy);
    returns when the last task started, epoch seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}", timeout=5).json()
        if job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"]):
            return max(v["start-time"] for v in job["vertices"]) / 1000
        if job["state"] in TERMINAL:
            raise StreamscoreError(f"job {job_id} ended ({job['state']}) before it ran: {root_cause(stack, job_id)}")
        time.sleep(1)
    raise StreamscoreError(f"job {job_id} was not running after {timeout_s:.0f} s")


def cancel(stack: StackConfig, job_id: str, timeout_s: float = 60.0) -> None:
    """Cancel the job and wait until it is gone, so the next job gets its slots and the CPU it used."""
    requests.patch(f"{stack.flink_rest_url}/jobs/{job_id}?mode=cancel", timeout=10)
    deadline = time.monotonic() + timeout_s
    while (state := job_state(stack, job_id)) not in TERMINAL:
        if time.monotonic() > deadline:
            raise StreamscoreError(f"job {job_id} still {state} {timeout_s:.0f} s after it was cancelled")
        time.sleep(0.2)


def root_cause(stack: StackConfig, job_id: str) -> str:
    """The latest failure the JobManager recorded for the job, its stack trace's first lines ('' if
    none: Flink 2 keeps failures in the exception history only)."""
    history = requests.get(f"{stack.flink_rest_url}/jobs/{job_id}/exceptions", timeout=5).json()
    entries = history.get("exceptionHistory", {}).get("entries", [])
    return "\n".join(str(entries[0].get("stacktrace", "")).splitlines()[:12]) if entries else ""
