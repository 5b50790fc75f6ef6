"""Shared fixtures: one Spark session and one Flink table environment per test run, the example spec,
and the local stack (started once per session, only for tests that ask for it)."""

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streamscore.shared.spec import PipelineSpec, load_pipeline, with_streaming

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "pipeline.yaml"

FeatureRunner = Callable[[list[dict[str, Any]], PipelineSpec], dict[str, dict[str, float]]]


@pytest.fixture(scope="session")
def payments_spec() -> PipelineSpec:
    return load_pipeline(EXAMPLE)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from streamscore.batch.session import local_session

    session = local_session("streamscore-tests", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def flink_env() -> Any:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from streamscore.deploy.process import StackConfig
    from streamscore.streaming.java_functions import register_java_functions

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set("parallelism.default", "1")
    env.get_config().set("table.local-time-zone", "UTC")
    env.get_config().set("pipeline.jars", ";".join(jar.as_uri() for jar in StackConfig.from_env().flink_jars()))
    register_java_functions(env)
    return env


def _rows_by_id(rows: list[dict[str, Any]], spec: PipelineSpec) -> dict[str, dict[str, float]]:
    names = [f.name for f in spec.features]
    return {str(r[spec.event.id]): {n: float(r[n]) for n in names} for r in rows}


@pytest.fixture(scope="session")
def run_spark(spark: Any) -> FeatureRunner:
    from streamscore.batch.features import compute_features

    def run(events: list[dict[str, Any]], spec: PipelineSpec) -> dict[str, dict[str, float]]:
        import pyarrow as pa

        frame = spark.createDataFrame(pa.Table.from_pylist(events, schema=_arrow_schema(spec)))
        rows = [r.asDict() for r in compute_features(spark, frame, spec).collect()]
        return _rows_by_id(rows, spec)

    return run


def _flink_runner(flink_env: Any, folders: pytest.TempPathFactory, features_at: str) -> FeatureRunner:
    from pyflink.table.expressions import col

    from streamscore.shared.features.sql import TS_COLUMN
    from streamscore.streaming.features import compute_features, with_profiles
    from streamscore.streaming.tables import create_table

    def run(events: list[dict[str, Any]], spec: PipelineSpec) -> dict[str, dict[str, float]]:
        spec = with_streaming(spec, features_at=features_at)
        folder = folders.mktemp("flink-events")
        # By watermark, in time order: in the job, an event behind the watermark is a `late` dead letter
        # before any feature sees it, and the features' OVER drops what is behind the watermark. On
        # arrival, the file's order is the order of arrival.
        if features_at == "watermark":
            events = sorted(events, key=lambda e: e[spec.event.time])
        (folder / "events.json").write_text("\n".join(json.dumps(e) for e in events) + "\n")
        name = f"events_{uuid.uuid4().hex[:8]}"
        flink_env.execute_sql(
            create_table(name, spec, {"connector": "filesystem", "path": str(folder), "format": "json"})
        )
        features = compute_features(flink_env, with_profiles(flink_env, spec, name, None), spec)
        table = features.drop_columns(col(TS_COLUMN))  # the rowtime stays for drift windows; not a feature
        with table.execute().collect() as results:
            columns = table.get_schema().get_field_names()
            rows = [dict(zip(columns, r, strict=True)) for r in results]
        return _rows_by_id(rows, spec)

    return run


@pytest.fixture(scope="session")
def run_flink(flink_env: Any, tmp_path_factory: pytest.TempPathFactory) -> FeatureRunner:
    """Features once the watermark passes each event (`streaming.features_at: watermark`)."""
    return _flink_runner(flink_env, tmp_path_factory, "watermark")


@pytest.fixture(scope="session")
def run_flink_on_arrival(flink_env: Any, tmp_path_factory: pytest.TempPathFactory) -> FeatureRunner:
    """Features as each event arrives, in the events' list order (`streaming.features_at: arrival`)."""
    return _flink_runner(flink_env, tmp_path_factory, "arrival")


@pytest.fixture(params=["spark", "flink"])
def run_features(request: pytest.FixtureRequest) -> FeatureRunner:
    """The same feature test body, once per engine."""
    runner: FeatureRunner = request.getfixturevalue(f"run_{request.param}")
    return runner


def _arrow_schema(spec: PipelineSpec) -> Any:
    import pyarrow as pa

    from streamscore.shared.avro import record_fields

    types = {
        "string": pa.string(),
        "double": pa.float64(),
        "float": pa.float32(),
        "long": pa.int64(),
        "int": pa.int32(),
        "boolean": pa.bool_(),
        "timestamp-millis": pa.int64(),
    }
    return pa.schema([pa.field(f.name, types[f.kind]) for f in record_fields(spec.event_schema()).values()])


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """The real broker and registry, started once; stopped at the end only if this run started them."""
    from streamscore.deploy import stack as local_stack

    config = local_stack.StackConfig.from_env()
    already = all(s.pid() is not None for s in local_stack.services(config, flink=False))
    local_stack.up(config, flink=False)
    yield config
    if not already:
        local_stack.down(config)


@pytest.fixture(scope="session")
def flink_stack(stack: Any) -> Iterator[Any]:
    """The broker and registry plus a real Flink standalone cluster (JobManager and TaskManager)."""
    from streamscore.deploy import stack as local_stack

    cluster = [s for s in local_stack.services(stack, flink=True) if s.name.startswith("flink")]
    already = all(s.pid() is not None for s in cluster)
    local_stack.up(stack, flink=True)
    yield stack
    if not already:
        for service in reversed(cluster):
            service.stop()


@pytest.fixture(scope="session")
def scoring(spark: Any, flink_stack: Any, payments_spec: PipelineSpec, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One whole scoring run on the Flink cluster, shared by the streaming and parity tests."""
    from streaming_fixtures import scoring_run

    return scoring_run(spark, flink_stack, payments_spec, tmp_path_factory.mktemp("scoring"), live_events=4_000)


@pytest.fixture(scope="session")
def drifting(
    spark: Any, flink_stack: Any, payments_spec: PipelineSpec, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """One stream with a known shift, scored with drift on; shared by the drift stream and report tests."""
    from drift_fixtures import drift_run

    return drift_run(spark, flink_stack, payments_spec, tmp_path_factory.mktemp("drift"))


@pytest.fixture
def submit(flink_stack: Any) -> Iterator[Callable[..., str]]:
    """Submit the scoring job with `flink_run` (spec file, workdir, its keyword options); returns the
    job id. Any job still running when the test ends (a failed test) is cancelled, so it cannot hold
    slots and CPU under the next test."""
    from streamscore.streaming.rest_jobs import cancel
    from streamscore.streaming.submit import flink_run

    submitted: list[str] = []

    def run(spec_file: Path, workdir: Path, **options: Any) -> str:
        job = flink_run(flink_stack, spec_file, workdir, **options)
        assert job.job_id is not None, job.output
        submitted.append(job.job_id)
        return job.job_id

    yield run
    for job_id in submitted:
        cancel(flink_stack, job_id)  # returns at once for a job that already ended
