"""One measured variant: events over wall time and over CPU time, the two figures every report needs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    variant: str
    events: int
    seconds: float
    cpu_seconds: float
    other_cores: float | None = None
    """Cores the rest of the machine used meanwhile, where measured (the job's runs)."""

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def events_per_core_second(self) -> float:
        return self.events / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "variant": self.variant,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "events_per_core_second": round(self.events_per_core_second, 1),
        } | ({} if self.other_cores is None else {"other_cores": self.other_cores})
