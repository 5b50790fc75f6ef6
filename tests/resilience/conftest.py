"""The resilience tests run on the stack's cluster mode: three brokers (replication 3, min ISR 2) and
two TaskManagers, so a killed broker or TaskManager leaves a cluster that can carry on."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """Overrides tests/conftest.py's single-broker stack; stopped at the end only if this run started it."""
    from streamscore.deploy import stack as local_stack

    config = local_stack.StackConfig.from_env().cluster()
    already = all(s.pid() is not None for s in local_stack.services(config, flink=False))
    local_stack.up(config, flink=False)
    yield config
    if not already:
        local_stack.down(config)


@pytest.fixture
def submit(flink_stack: Any) -> Iterator[Callable[..., str]]:
    """Submit the scoring job with `flink_run` (spec file, workdir, its keyword options); returns the
    job id. Any job still running when the test ends (a failed test) is cancelled, so it cannot hold
    slots and CPU under the next test."""
    from streamscore.streaming.submit import flink_run

    submitted: list[str] = []

    def run(spec_file: Path, workdir: Path, **options: Any) -> str:
        job = flink_run(flink_stack, spec_file, workdir, **options)
        assert job.job_id is not None, job.output
        submitted.append(job.job_id)
        return job.job_id

    yield run
    for job_id in submitted:
        url = f"{flink_stack.flink_rest_url}/jobs/{job_id}"
        if requests.get(url, timeout=5).json().get("state") in ("RUNNING", "RESTARTING", "CREATED"):
            requests.patch(f"{url}?mode=cancel", timeout=10)
