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
    machine_speed: float | None = None
    """The ONNX ceiling's rate per core on a few rows just before and after this measurement (mean),
    over the same at the start of the bench: how fast the machine ran meanwhile. A neighbour or the
    clock can move every figure of a variant by a tenth or more (session 20: one job on one topic,
    18.9k to 24.1k events per core-second in four runs, every thread alike), which /proc's cores do
    not show."""

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def events_per_core_second(self) -> float:
        return self.events / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        figures: dict[str, float | int | str] = {
            "variant": self.variant,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "events_per_core_second": round(self.events_per_core_second, 1),
        }
        optional = {"other_cores": self.other_cores, "machine_speed": self.machine_speed}
        return figures | {k: v for k, v in optional.items() if v is not None}
