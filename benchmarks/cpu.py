"""CPU time of a process tree from /proc: what "events per core-second" divides by; and, during a
latency run, who else had the cores.

A Flink TaskManager's Python workers are its descendants and come and go with the job, so the
meter remembers the last CPU time it saw for every process that has exited since. A tree stops at
descendants that started a session of their own: the services this project starts (broker, schema
registry, Flink) do (deploy/process.py), so when the benchmark starts the stack itself they are its
children but not its cost, nor that of the Spark job the benchmark runs in its own tree.
"""

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from streamscore.shared.errors import StreamscoreError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessStat:
    parent: int
    session: int
    cpu_seconds: float
    """User + system."""


def process_stat(pid: int) -> ProcessStat | None:
    """A live process's figures, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may contain spaces
    return ProcessStat(int(fields[1]), int(fields[3]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)


class TreeCpu:
    """Cumulative CPU seconds of `root` and its descendants in its session, sampled on demand."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._seen: dict[int, float] = {}

    def _tree(self, stats: dict[int, ProcessStat]) -> set[int]:
        if self.root not in stats:
            return set()
        session, tree, grew = stats[self.root].session, {self.root}, True
        while grew:
            children = {p for p, s in stats.items() if s.parent in tree and s.session == session} - tree
            tree |= children
            grew = bool(children)
        return tree

    def sample(self) -> float:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (stat := process_stat(int(entry.name))) is not None:
                stats[int(entry.name)] = stat
        for pid in self._tree(stats):
            self._seen[pid] = stats[pid].cpu_seconds
        return sum(self._seen.values())


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot: every state of /proc/stat's first line
    but idle and iowait (steal included: a core the hypervisor gave elsewhere was not ours either)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


@dataclass(frozen=True)
class CoreShares:
    """Cores in use over an interval: the job's process tree, this process's (the benchmark: its
    producer, and Spark's JVM when a session is open), and everything else (broker, JobManager,
    schema registry, the system, neighbours)."""

    job: float
    bench: float
    other: float


class CoreTimeline:
    """Samples every `interval_s`, in a thread, the CPU seconds of `job_root`'s tree, of this process's
    and of the machine, stamped with the wall clock, so the cores behind any span of a run (such as
    the seconds a latency run measures, known only afterwards, in broker time) can be read back."""

    def __init__(self, job_root: int, interval_s: float = 1.0) -> None:
        self._job, self._bench = TreeCpu(job_root), TreeCpu(os.getpid())
        self._interval_s = interval_s
        self._samples: list[tuple[float, float, float, float]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self._samples.append((time.time(), self._job.sample(), self._bench.sample(), machine_busy_seconds()))

    def _run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(self._interval_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
        self._sample()

    def shares(self, begin_s: float, end_s: float) -> CoreShares:
        """Cores over the samples within [begin_s, end_s] (epoch seconds; the closest span sampled)."""
        inside = [s for s in self._samples if begin_s <= s[0] <= end_s]
        if len(inside) < 2:
            raise StreamscoreError(f"fewer than two CPU samples between {begin_s:.1f} and {end_s:.1f}")
        (t0, job0, bench0, busy0), (t1, job1, bench1, busy1) = inside[0], inside[-1]
        seconds = t1 - t0
        job, bench = (job1 - job0) / seconds, (bench1 - bench0) / seconds
        return CoreShares(round(job, 2), round(bench, 2), round((busy1 - busy0) / seconds - job - bench, 2))
