"""The job's Flink configuration: streamscore's defaults, and the spec's `streaming.flink_options` over them."""

from pathlib import Path

import pytest
from pyflink.table import EnvironmentSettings, TableEnvironment

from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec, with_streaming
from streamscore.streaming.kafka_tables import KafkaSettings
from streamscore.streaming.score_job import JobSettings, configure
from streamscore.streaming.scorer import pin_models

COMPRESSION = "state.backend.rocksdb.compression.per.level"
BUFFER_TIMEOUT = "execution.buffer-timeout.interval"
CHECKPOINTS = "execution.checkpointing.interval"
CHANGELOG = "state.changelog.enabled"


def configured(spec: PipelineSpec, workdir: Path, profile: str | None = None) -> dict[str, str]:
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    kafka = KafkaSettings("127.0.0.1:9", "http://127.0.0.1:9", "g")
    configure(t_env, spec, JobSettings(kafka, workdir, [], profile=profile))
    config = t_env.get_config()
    keys = (
        COMPRESSION,
        "execution.checkpointing.timeout",
        "parallelism.default",
        BUFFER_TIMEOUT,
        CHECKPOINTS,
        CHANGELOG,
    )
    return {key: config.get(key, "") for key in keys}


def test_the_runtime_profile_sets_buffer_timeout_and_checkpoint_interval(
    payments_spec: PipelineSpec, tmp_path: Path
) -> None:
    throughput = configured(payments_spec, tmp_path, "throughput")
    assert (throughput[BUFFER_TIMEOUT], throughput[CHECKPOINTS]) == ("100 ms", "10000 ms")  # the spec's own
    assert throughput[CHANGELOG] == "false"
    latency = configured(payments_spec, tmp_path, "latency")
    assert (latency[BUFFER_TIMEOUT], latency[CHECKPOINTS], latency[CHANGELOG]) == ("10 ms", "10000 ms", "true")
    profiles = payments_spec.streaming.profiles
    spec = with_streaming(
        payments_spec,
        profiles={**profiles, "latency": profiles["latency"].model_copy(update={"checkpoint_interval": 2_000})},
    )
    assert configured(spec, tmp_path, "latency")[CHECKPOINTS] == "2000 ms"
    assert configured(spec, tmp_path, "throughput")[CHECKPOINTS] == "10000 ms"


def test_flink_options_are_set_over_streamscore_own(payments_spec: PipelineSpec, tmp_path: Path) -> None:
    assert configured(payments_spec, tmp_path)[COMPRESSION] == "NO_COMPRESSION"
    options = {COMPRESSION: "LZ4_COMPRESSION", "execution.checkpointing.timeout": "5 min"}
    spec = with_streaming(payments_spec, flink_options=options)
    assert configured(spec, tmp_path) == {
        **options,
        "parallelism.default": str(spec.streaming.parallelism),
        BUFFER_TIMEOUT: "100 ms",
        CHECKPOINTS: "10000 ms",
        CHANGELOG: "false",
    }


def test_a_pipeline_without_a_champion_fails_when_planned(payments_spec: PipelineSpec, tmp_path: Path) -> None:
    """The submitter pins the bundles the Python workers load, so a missing champion is an error at
    submission rather than a task failing (and restarting) at its first event."""
    with pytest.raises(StreamscoreError, match=f"no `champion` for '{payments_spec.name}'"):
        pin_models(payments_spec.name, tmp_path, shadow=False)
