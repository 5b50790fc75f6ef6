"""Watching and stopping a job through Flink's REST API, for the resilience tests."""

import time
from typing import Any

import requests

from streamscore.streaming.rest_jobs import job_state


def wait(condition: Any, timeout_s: float, what: str) -> float:
    """Seconds until `condition()` held; fails the test after `timeout_s`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(1)
    return time.monotonic() - began


def stop_with_savepoint(stack: Any, job_id: str, directory: str, *, drain: bool) -> str:
    """Stop the job with a savepoint (with MAX_WATERMARK if `drain`); returns the savepoint's location."""
    url = f"{stack.flink_rest_url}/jobs/{job_id}"
    response = requests.post(f"{url}/stop", json={"drain": drain, "targetDirectory": directory}, timeout=10)
    assert response.status_code == 202, response.text
    trigger = response.json()["request-id"]
    status: dict[str, Any] = {}

    def completed() -> bool:
        status.update(requests.get(f"{url}/savepoints/{trigger}", timeout=5).json())
        return status.get("status", {}).get("id") == "COMPLETED"

    wait(completed, 180, "the savepoint")
    operation = status.get("operation", {})
    assert "location" in operation, f"savepoint failed: {operation}"
    wait(lambda: job_state(stack, job_id) == "FINISHED", 120, "the stopped job to finish")
    return str(operation["location"])


def accounting(produced: int, scored: list[dict[str, Any]], dead: list[dict[str, Any]]) -> str:
    """The figures every resilience test prints: in, out by kind, lost, duplicated."""
    ids = [s["event_id"] for s in scored]
    lost = produced - len(scored) - len(dead)
    return (
        f"in {produced}, scored {len(scored)}, dead-lettered {len(dead)}, lost {lost}, "
        f"duplicated {len(ids) - len(set(ids))}"
    )
