import os
import signal
import subprocess
import sys
import time

from streamscore.benchmarks.cpu import TreeCpu, process_stat

BURN_THEN_WAIT = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass\ntime.sleep(60)"
PARENT = f"""import subprocess, sys, time
burn = {BURN_THEN_WAIT!r}
own = subprocess.Popen([sys.executable, "-c", burn])
service = subprocess.Popen([sys.executable, "-c", burn], start_new_session=True)
print(own.pid, service.pid, flush=True)
time.sleep(60)
"""


def _cpu_seconds(pid: int) -> float:
    stat = process_stat(pid)
    assert stat is not None, f"process {pid} is gone"
    return stat.cpu_seconds


def test_a_process_tree_counts_its_children_but_not_those_in_a_session_of_their_own() -> None:
    """The benchmark starts the stack's services as its children, each in a session of its own: their
    CPU is not the benchmark's (nor that of the Spark job it runs in its own tree). The tree's root is
    a process of the test's own: pytest's tree holds whatever earlier tests started (a Spark JVM)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    own, service = (int(pid) for pid in parent.stdout.readline().split())
    try:
        deadline = time.monotonic() + 30
        while min(_cpu_seconds(own), _cpu_seconds(service)) < 0.95 and time.monotonic() < deadline:
            time.sleep(0.1)
        child, other = _cpu_seconds(own), _cpu_seconds(service)
        assert child >= 0.95 and other >= 0.95, "the children did not burn their second"
        tree = TreeCpu(parent.pid).sample()
        assert abs(tree - _cpu_seconds(parent.pid) - child) <= 0.05  # the parent only sleeps meanwhile
    finally:
        for pid in (own, service, parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.wait()
