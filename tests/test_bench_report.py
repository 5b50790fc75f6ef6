"""The bench's report without a stack: what a run stopped early keeps, and the capacity arithmetic."""

import json
from pathlib import Path

from streamscore.benchmarks.measurement import Measurement
from streamscore.benchmarks.model_size import size_runs
from streamscore.benchmarks.report import capacity, cost_curves, write_partial


def test_a_partial_report_holds_every_figure_so_far_and_leaves_latest_alone(tmp_path: Path) -> None:
    measured = [Measurement("job_throughput_p1_rocksdb", 8_000, 2.0, 4.0)]
    latency = [{"profile": "latency", "p99": 120.0}]

    write_partial("20261127T000000", "standard", measured, latency, tmp_path)
    measured.append(Measurement("per_event_consumer", 1_000, 1.0, 0.5))
    write_partial("20261127T000000", "standard", measured, latency, tmp_path)

    partial = json.loads((tmp_path / "bench-20261127T000000.json").read_text())
    assert partial["complete"] is False and partial["latency_ms"] == latency
    assert {name: v["events_per_core_second"] for name, v in partial["variants"].items()} == {
        "job_throughput_p1_rocksdb": 2_000.0,
        "per_event_consumer": 2_000.0,
    }
    assert not (tmp_path / "latest.json").exists()


def test_capacity_sizes_slots_by_one_slot_and_cores_by_the_lower_per_core_rate() -> None:
    one = Measurement("p1", 10_000, 1.0, 1.0)  # 10k events/s, 10k per core-second
    two = Measurement("p2", 15_000, 1.0, 2.0)  # 7.5k per core-second: each added slot costs more

    billion, four = capacity(one, two)

    assert billion["events_per_s"] == 277_778 and billion["task_slots"] == 40  # 277,778 / (10k * 0.7)
    assert billion["busy_cores"] == 37.0 and billion["cores"] == 53  # 277,778 / 7.5k, then / 0.7
    assert four["task_slots"] == 159 and billion["kafka_partitions"] == 80


def test_the_champions_own_run_is_the_point_of_its_model_size() -> None:
    """A champion of 200 trees is the curve's 200-tree point (its run on the cost topic), the other sizes
    their sized models' runs, each beside its size's ceiling."""
    job = "job_throughput_p1_rocksdb"
    measured = [
        Measurement(f"{job}_cost_topic", 2_000, 1.0, 1.0),
        Measurement(f"{job}_50_trees", 3_000, 1.0, 1.0),
        Measurement(f"{job}_400_trees", 1_500, 1.0, 1.0),
        *(Measurement(f"onnx_ceiling_{trees}_trees", 100 * trees, 1.0, 1.0) for trees in (50, 200, 400)),
    ]

    curves = cost_curves({m.variant: m for m in measured}, "rocksdb", {}, size_runs(200, f"{job}_cost_topic", job))

    assert [(s["trees"], s["variant"], s["job_events_per_core_second"]) for s in curves["job_by_model_size"]] == [
        (50, f"{job}_50_trees", 3_000.0),
        (200, f"{job}_cost_topic", 2_000.0),
        (400, f"{job}_400_trees", 1_500.0),
    ]
    assert [s["ceiling_events_per_core_second"] for s in curves["job_by_model_size"]] == [5_000.0, 20_000.0, 40_000.0]
    # A champion of another size leaves every size to a sized model.
    assert size_runs(20, f"{job}_cost_topic", job) == {t: f"{job}_{t}_trees" for t in (50, 200, 400)}
