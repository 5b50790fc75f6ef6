"""The warm Flink client the benchmarks submit through (streaming/warm_client.py): a job that cannot be
planned is answered with its cause and the client serves the next one; closing the client stops its
gateway JVM. Jobs planned and run through it: tests/test_bench.py."""

import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.stack


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def test_warm_client_answers_a_failed_plan_and_stops_its_gateway(flink_stack: Any, tmp_path: Path) -> None:
    from streamscore.shared.errors import StreamscoreError
    from streamscore.streaming.warm_client import WarmClient

    missing = tmp_path / "no-such-pipeline.yaml"
    with WarmClient(flink_stack) as client:
        for _ in range(2):  # the first failure leaves the client serving
            with pytest.raises(StreamscoreError, match=r"(?s)the job failed.*no-such-pipeline\.yaml"):
                client.run(missing, tmp_path, group_id="warm-client-test")
        gateway = _children(client.process.pid)
        assert gateway, "the client runs its gateway JVM as a child"
    assert client.process.returncode == 0
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in gateway) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(Path(f"/proc/{pid}").exists() for pid in gateway), "the gateway JVM outlived its client"
