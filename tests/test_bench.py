"""The benchmark harness on tiny data: every variant measured, ratios and capacity computed, results
written. Benchmarks are not tests; this only proves `streamscore bench` works end to end."""

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from streaming_fixtures import ScoringRun

pytestmark = pytest.mark.stack


def test_bench_runs_every_variant_on_tiny_data(flink_stack: Any, scoring: ScoringRun, tmp_path: Path) -> None:
    from streamscore.benchmarks.run import PROFILES, run

    report = run(scoring.spec, scoring.workdir, "tiny", tmp_path / "results", Console(quiet=True))

    written = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert written == json.loads(json.dumps(report)) and written["complete"] is True
    # The run's own file, rewritten after each variant while it ran, ends as the complete report.
    assert json.loads((tmp_path / "results" / f"bench-{report['run']}.json").read_text()) == written
    assert (tmp_path / "results" / f"bench-{report['run']}.md").is_file()
    for chart in ("throughput", "latency", "latency-seconds", "model-size"):
        assert (tmp_path / "results" / f"bench-{report['run']}-{chart}.png").stat().st_size > 10_000
    variants = report["variants"]
    assert set(variants) == {
        f"onnx_ceiling_batch_{scoring.spec.streaming.profiles['throughput'].arrow_batch_size}",
        "job_throughput_p1_rocksdb",
        "job_throughput_p1_rocksdb_cost_topic",
        "job_throughput_p1_rocksdb_no_drift",
        "job_throughput_p1_rocksdb_no_dedup",
        "job_throughput_p2_rocksdb",
        "job_throughput_p1_rocksdb_arrival",
        "job_throughput_p2_rocksdb_arrival",
        "job_throughput_p1_hashmap",
        "job_throughput_p1_rocksdb_50_trees",
        "job_throughput_p1_rocksdb_200_trees",
        "job_throughput_p1_rocksdb_400_trees",
        "job_throughput_p1_rocksdb_3000_keys",
        "jvm_path_p1_rocksdb",
        "jvm_path_until_read_p1_rocksdb",
        "jvm_path_until_validation_p1_rocksdb",
        "jvm_path_until_deduplication_p1_rocksdb",
        "per_event_consumer",
        "batched_consumer_10000",
        "spark_structured_streaming",
    }
    for figures in variants.values():
        assert figures["events"] > 0 and figures["events_per_s"] > 0 and figures["events_per_core_second"] > 0
        # Every run over the topic has the machine's speed around it, relative to the same probe at the start.
        ceiling = figures["variant"].startswith("onnx_ceiling")
        assert ("machine_speed" in figures) is not ceiling
        assert ceiling or 0.2 < figures["machine_speed"] < 5
    # Every job run and every part of the run has its wall time; the parts add up to the whole.
    timeline = report["timeline"]
    assert {v for v in variants if v.startswith(("job_", "jvm_path"))} <= set(timeline["parts"])
    assert {"stack", "drawing", "ceilings", "fill", "spark_structured_streaming", "consumers"} <= set(timeline["parts"])
    # The warm-up run shares the machine with the main topic's fill: its figure is not reported, its wait after it is.
    assert "warm_up_after_fill" in timeline["parts"]
    assert [p for p in timeline["parts"] if p.startswith("latency_")] == [
        "latency_load",
        "latency_latency_watermark",
        "latency_throughput_watermark",
        "latency_latency_arrival",
    ]
    assert 0 <= timeline["other_seconds"] < 0.2 * timeline["wall_seconds"]
    assert timeline["budget_seconds"] is None and timeline["within_budget"] is None  # tiny has no budget
    tiny = PROFILES["tiny"]
    assert variants["per_event_consumer"]["events"] == tiny.consumer_events
    assert variants["batched_consumer_10000"]["events"] == tiny.batched_consumer_events
    # The job's measured share is 80 % of its output (scored + dead letters + a few commit markers).
    assert 0.8 * tiny.events <= variants["job_throughput_p1_rocksdb"]["events"] <= 0.82 * tiny.events
    assert tiny.cost_events is not None
    # The cost variants' own topic; the JVM path stopped after each stage writes one record per event too.
    stopped = [f"jvm_path_until_{stage}_p1_rocksdb" for stage in ("read", "validation", "deduplication")]
    for variant in ("job_throughput_p1_rocksdb_no_drift", *stopped):
        assert 0.8 * tiny.cost_events <= variants[variant]["events"] <= 0.82 * tiny.cost_events
    stages = report["jvm_path_by_stage"]
    assert [s["until"] for s in stages] == ["read", "validation", "deduplication", "features", "scoring"]
    assert stages[-1]["variant"] == "job_throughput_p1_rocksdb_cost_topic" and all(
        s["us_per_event"] > 0 for s in stages
    )
    assert set(report["ratios"]) >= {
        "job_vs_onnx_ceiling",
        "job_vs_jvm_path",
        "job_vs_per_event_consumer",
        "job_vs_batched_consumer",
        "job_vs_spark_structured_streaming",
        "job_arrival_vs_job",
        "job_arrival_vs_per_event_consumer",
        "drift_on_vs_off",
        "dedup_on_vs_off",
        "job_400_vs_50_trees",
        "parallelism_2_vs_1_per_core",
    }
    assert [(s["trees"], s["job_events_per_core_second"] > 0) for s in report["job_by_model_size"]] == [
        (50, True),
        (200, True),
        (400, True),
    ]
    # 3,000 keys: a topic of its own of the cost topic's size; 5,000: the main topic's run, drawn from them.
    assert [(k["keys"], k["topic_events"], k["variant"]) for k in report["keys_in_state"]] == [
        (3_000, 4_000, "job_throughput_p1_rocksdb_3000_keys"),
        (5_000, 5_000, "job_throughput_p1_rocksdb"),
    ]
    # One job per profile takes the rates in turn; each rate's first seconds warm it up, not measured.
    steps = [(r["profile"], r["features_at"], r["after_events_per_s"] is None) for r in report["latency_ms"]]
    assert steps == [
        ("latency", "watermark", True),
        ("latency", "watermark", False),
        ("throughput", "watermark", True),
        ("throughput", "watermark", False),
        ("latency", "arrival", True),
        ("latency", "arrival", False),
    ]
    for first, second in zip(report["latency_ms"][::2], report["latency_ms"][1::2], strict=True):
        assert second["after_events_per_s"] == first["target_events_per_s"] < second["target_events_per_s"]
        assert (first["warm_up_s"], second["warm_up_s"]) == (tiny.latency_warm_up_s, tiny.latency_step_warm_up_s)
        assert first["starts_at_s"] == 0 and abs(second["starts_at_s"] - first["warm_up_s"] - tiny.latency_seconds) <= 1
    for paced in report["latency_ms"]:
        load_s = paced["warm_up_s"] + tiny.latency_seconds
        assert abs(paced["events"] - paced["target_events_per_s"] * load_s) <= load_s  # the target is rounded
        assert 0 < paced["scored"] < paced["events"]
        assert 0 < paced["p50"] <= paced["p95"] <= paced["p99"] and "producer_lag_p99_ms" in paced
        # The run waits for the last transaction to commit: every scored record became visible, later.
        assert paced["committed"] == paced["scored"] and paced["committed_p50"] >= paced["p50"]
        assert paced["committed_p50"] <= paced["committed_p95"] <= paced["committed_p99"]
        # Per second of the whole step, warm-up included: more records than the measured ones.
        assert sum(s["events"] for s in paced["per_second"]) > paced["scored"] and paced["cores"]["job"] > 0
    assert [plan["events_per_hour"] for plan in report["capacity"]] == [10**9, 4 * 10**9]
    one, four = report["capacity"]
    assert four["task_slots"] >= 4 * one["task_slots"] - 3 and four["cores"] >= 4 * one["cores"] - 3
    assert one["cores"] >= one["busy_cores"] and one["kafka_partitions"] == 2 * one["task_slots"] > 0
