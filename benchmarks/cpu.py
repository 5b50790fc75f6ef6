"""CPU time of a process tree from /proc: what "events per core-second" divides by.

A Flink TaskManager's Python workers are its descendants and come and go with the job, so the
meter remembers the last CPU time it saw for every process that has exited since.
"""

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may contain spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class TreeCpu:
    """Cumulative CPU seconds of `root` and all its descendants, sampled on demand."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._seen: dict[int, float] = {}

    def _descendants(self, stats: dict[int, tuple[int, float]]) -> set[int]:
        tree, grew = {self.root}, True
        while grew:
            children = {pid for pid, (parent, _) in stats.items() if parent in tree} - tree
            tree |= children
            grew = bool(children)
        return tree

    def sample(self) -> float:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
                stats[int(entry.name)] = stat
        for pid in self._descendants(stats) & stats.keys():
            self._seen[pid] = stats[pid][1]
        return sum(self._seen.values())
