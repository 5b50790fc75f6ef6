import os
import subprocess
import sys
import time
from pathlib import Path

from streamscore.benchmarks.cpu import CLOCK_TICKS, TreeCpu

BURN_THEN_WAIT = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass\ntime.sleep(60)"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def test_a_process_tree_counts_its_children_but_not_those_in_a_session_of_their_own() -> None:
    """The benchmark starts the stack's services as its children, each in a session of its own: their
    CPU is not the benchmark's (nor that of the Spark job it runs in its own tree)."""
    own = subprocess.Popen([sys.executable, "-c", BURN_THEN_WAIT])
    service = subprocess.Popen([sys.executable, "-c", BURN_THEN_WAIT], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while min(_cpu_seconds(own.pid), _cpu_seconds(service.pid)) < 0.95 and time.monotonic() < deadline:
            time.sleep(0.1)
        child, other = _cpu_seconds(own.pid), _cpu_seconds(service.pid)
        assert child >= 0.95 and other >= 0.95, "the children did not burn their second"
        before = _cpu_seconds(os.getpid())
        tree = TreeCpu(os.getpid()).sample()
        after = _cpu_seconds(os.getpid())
        assert before + child - 0.05 <= tree <= after + child + 0.05
    finally:
        for process in (own, service):
            process.kill()
            process.wait()
