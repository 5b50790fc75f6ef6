"""The declarative pipeline spec: one YAML file drives training, scoring and drift.

Every level forbids unknown keys and types are strict, so a typo fails at load time with the
key path instead of silently falling back to a default in a job that runs for months.
"""

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from streamscore.shared.avro import AvroField, load_avro_schema, record_fields
from streamscore.shared.durations import parse_duration_ms
from streamscore.shared.errors import SchemaError, SpecError


def _duration(value: object) -> object:
    return parse_duration_ms(value) if isinstance(value, str) else value


DurationMs = Annotated[int, BeforeValidator(_duration), Field(gt=0)]
"""A duration written as "10m" in YAML, held as milliseconds."""

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""snake_case: one name for a field or feature in YAML, Avro and code."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FieldRule(_Strict):
    """What a valid value of one event field looks like; breaking it sends the event to dead letters."""

    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, gt=0)
    """For a string field: the longest value accepted (default `event.max_string_length`)."""

    @model_validator(mode="after")
    def _range(self) -> "FieldRule":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must be <= max, got min={self.min}, max={self.max}")
        return self


class EventConfig(_Strict):
    schema_file: str = Field(alias="schema")
    id: Name
    key: Name
    time: Name
    max_out_of_orderness: DurationMs = 5_000
    max_timestamp_skew: DurationMs = 86_400_000
    """How far the event time may be from the Kafka record timestamp; beyond it the event is dead-lettered
    and cannot move the watermark (one record dated in 2099 must not make every later event late)."""
    max_string_length: int = Field(default=1024, gt=0)
    """Longest accepted value of any string field without its own `max_length`: a 1 MB merchant id is an
    attack or a bug, and would otherwise be carried through state and into every output."""
    deduplicate: bool = True
    """Dead-letter an event whose id was seen before (within `deduplicate_within`): a producer's retry
    or a replayed batch must not be scored, counted in windows and decided twice."""
    deduplicate_within: DurationMs = 600_000
    """How long (processing time) an event id is remembered after its last copy arrived. A copy
    arriving later is dead-lettered as `late` anyway unless its event time is still ahead of the
    watermark (a re-stamped retry, or a stream stalled that long), so minutes suffice; the state is
    one counter per id of this period (10 minutes at 278k events/s: 167 million ids). With
    `streaming.features_at: arrival` the windows' operator deduplicates instead: per entity, an id is
    kept with its event for at least this long of event time, or the longest window if longer."""
    fields: dict[Name, FieldRule] = {}

    def max_length(self, name: str) -> int:
        rule = self.fields.get(name)
        return rule.max_length if rule is not None and rule.max_length is not None else self.max_string_length


class LabelConfig(_Strict):
    field: Name
    min_rate: float = Field(default=0.001, ge=0, le=1)
    max_rate: float = Field(default=0.2, ge=0, le=1)


class NumericFeature(_Strict):
    """A numeric event field, optionally log1p-transformed; `fill` replaces a missing value."""

    kind: Literal["numeric"]
    name: Name
    field: Name
    transform: Literal["none", "log1p"] = "none"
    fill: float = 0.0


class TimePartFeature(_Strict):
    """A part of the event time in UTC; computed arithmetically so both engines agree exactly."""

    kind: Literal["time_part"]
    name: Name
    part: Literal["hour_of_day", "day_of_week"]


class CategoryFeature(_Strict):
    """Ordinal code of a string field: position in `vocabulary`, and len(vocabulary) for unknown or missing."""

    kind: Literal["category"]
    name: Name
    field: Name
    vocabulary: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "CategoryFeature":
        repeated = sorted(v for v, n in Counter(self.vocabulary).items() if n > 1)
        if repeated:
            raise ValueError(f"vocabulary has repeated values {repeated}")
        return self


WindowAgg = Literal["count", "sum", "mean", "max", "min", "count_distinct"]


class WindowFeature(_Strict):
    """An aggregate over the entity's events with event time in [t - window, t] (RANGE frame)."""

    kind: Literal["window"]
    name: Name
    agg: WindowAgg
    field: Name | None = None
    window: DurationMs
    fill: float = 0.0

    @model_validator(mode="after")
    def _field_needed(self) -> "WindowFeature":
        if self.agg != "count" and self.field is None:
            raise ValueError(f"agg {self.agg!r} needs a field")
        if self.agg == "count" and self.field is not None:
            raise ValueError("agg 'count' counts events and takes no field")
        return self


class SincePreviousFeature(_Strict):
    """Seconds since the entity's previous event; `fill` for its first event, capped at `cap_s`."""

    kind: Literal["since_previous"]
    name: Name
    fill: float = -1.0
    cap_s: float | None = Field(default=None, gt=0)


class ProfileFeature(_Strict):
    """An entity profile value computed in batch over `lookback` and looked up in the stream."""

    kind: Literal["profile"]
    name: Name
    agg: Literal["count", "sum", "mean", "max", "min", "stddev"]
    field: Name | None = None
    lookback: DurationMs
    default: float = 0.0

    @model_validator(mode="after")
    def _field_needed(self) -> "ProfileFeature":
        if self.agg != "count" and self.field is None:
            raise ValueError(f"agg {self.agg!r} needs a field")
        return self


Feature = Annotated[
    NumericFeature | TimePartFeature | CategoryFeature | WindowFeature | SincePreviousFeature | ProfileFeature,
    Field(discriminator="kind"),
]


class ProfilesConfig(_Strict):
    """Batch publishes entity profiles once per `refresh`; lookbacks are whole multiples of it."""

    refresh: DurationMs = 86_400_000


class SplitConfig(_Strict):
    """Time-based split by event time: fractions of the history's time span, with a gap between parts."""

    train: float = Field(gt=0, lt=1)
    validation: float = Field(gt=0, lt=1)
    test: float = Field(gt=0, lt=1)
    gap: DurationMs = 3_600_000

    @model_validator(mode="after")
    def _sum(self) -> "SplitConfig":
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + validation + test must be 1, got {total:g}")
        return self


class BaselineRule(_Strict):
    """Flag an event when `feature` exceeds its training-period `quantile`."""

    feature: Name
    quantile: float = Field(default=0.99, gt=0, lt=1)


class BaselineConfig(_Strict):
    """The rule-based model every trained model must beat; no rules means "approve everything"."""

    rules: list[BaselineRule] = []


class ModelConfig(_Strict):
    algorithm: Literal["xgboost", "gbt", "logistic_regression"]
    params: dict[str, int | float | str | bool] = {}
    search: dict[str, list[int | float | str]] = {}
    seed: int = 42


class CostConfig(_Strict):
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    false_negative: float = Field(ge=0)
    false_positive: float = Field(ge=0)


class DecisionConfig(_Strict):
    threshold: float | Literal["cost_optimal"] = "cost_optimal"
    review_band: list[float] | None = Field(default=None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _band(self) -> "DecisionConfig":
        if self.review_band is not None:
            low, high = self.review_band
            if not 0 <= low < high <= 1:
                raise ValueError(f"review_band must satisfy 0 <= low < high <= 1, got {list(self.review_band)}")
        return self


class DriftThresholds(_Strict):
    psi_warn: float = Field(default=0.1, gt=0)
    psi_alert: float = Field(default=0.25, gt=0)
    js_alert: float = Field(default=0.1, gt=0)

    @model_validator(mode="after")
    def _order(self) -> "DriftThresholds":
        if self.psi_warn > self.psi_alert:
            raise ValueError(f"psi_warn must be <= psi_alert, got {self.psi_warn} > {self.psi_alert}")
        return self


class DriftConfig(_Strict):
    """Sliding event-time windows over the scored feature vectors, compared with the model's baseline.

    Windows close with the job's watermark, so events up to `event.max_out_of_orderness` late are
    counted in their windows; later ones are dead letters (`late`) and never scored, so every
    scored event is in exactly the windows its event time falls in.
    """

    enabled: bool = True
    window: DurationMs = 600_000
    slide: DurationMs = 60_000
    bins: int = Field(default=10, ge=2, le=100)
    consecutive: int = Field(default=3, ge=1)
    """An alert needs this many consecutive windows at level `alert` for one feature."""
    min_count: int = Field(default=500, ge=1)
    """Windows with fewer non-null values are `low_count`, not judged: with n values over 10 bins,
    sampling noise alone gives a PSI of about 9/n."""
    exclude: list[Name] = []
    """Features not watched, e.g. hour_of_day: a 10-minute window never looks like a whole day."""
    thresholds: DriftThresholds = DriftThresholds()
    per_feature: dict[Name, DriftThresholds] = {}

    @model_validator(mode="after")
    def _slide(self) -> "DriftConfig":
        if self.window % self.slide != 0:
            raise ValueError(f"window must be a multiple of slide, got {self.window} ms and {self.slide} ms")
        return self

    def thresholds_for(self, name: str) -> DriftThresholds:
        return self.per_feature.get(name, self.thresholds)


class RuntimeProfile(_Strict):
    """PyFlink's Python execution knobs: big bundles for throughput, small ones for latency."""

    arrow_batch_size: int = Field(gt=0)
    """Rows per Arrow batch handed to the Python worker; well under a bundle's rows, so that the worker
    scores one batch while the JVM fills the next and, at a bundle's end, the JVM waits for the last
    batch only. At 100k rows with 1 s bundles (about 30k events at parallelism 1) every bundle was one
    batch, scored while the JVM waited: 10k read 1.11x the events/s and 1.07x the events per
    core-second (2M events over 2M keys, parallelism 1, four alternating pairs, session 26); ONNX
    Runtime alone scores as fast at 10k rows a call as at 100k (5k: 0.95x)."""
    bundle_size: int = Field(gt=0)
    bundle_time: DurationMs
    buffer_timeout: DurationMs = 100
    """How long a network buffer between the job's operators waits to fill before it is sent (Flink's
    `execution.buffer-timeout.interval`; 100 ms is Flink's default). An event crosses three: at
    3,500 events/s, 10 ms instead of 100 took the `latency` profile's p50 from 66 to 45 ms and its
    p99 from 113 to 80 (benchmark's paced load, features on arrival). Full buffers go at once, so a
    busy job hardly waits either way."""
    checkpoint_interval: DurationMs | None = None
    """Overrides `streaming.checkpoint_interval` under this profile. The sinks are exactly-once, so a
    scored record reaches `read_committed` consumers only when the checkpoint after it commits: the
    interval bounds that latency, whatever the job's own. Each checkpoint stalls the job for a moment
    (without `state_changelog`, RocksDB flushes its memtables in the synchronous phase), so shorter
    costs the append latency: `latency` profile at 16,000 events/s (benchmark, features on arrival,
    no changelog), 10 s: committed p50 5.3 s / p99 10.2 s, appended p99 178 ms; 2 s: committed
    1.3 s / 2.3 s, appended p99 325 ms."""
    state_changelog: bool = False
    """Flink's changelog state backend (`state.changelog.enabled`): state changes are also written to
    a log that each checkpoint persists, so a checkpoint no longer flushes RocksDB's memtables in its
    synchronous phase, which stalled the deduplication's and the windows' operators for 50-280 ms
    every checkpoint; RocksDB is snapshotted in the background every 10 minutes instead
    (`state.changelog.periodic-materialize.interval`), a stall then. Benchmark's paced load, features
    on arrival, `latency` profile at 16,000 events/s: p99 100 / 160 / 258 ms with it, 178-272 ms
    without; 0.92x the events per core-second (2M events over 200k keys, two runs each). The
    TaskManagers need `state.changelog.storage: filesystem` and `dstl.dfs.base-path`."""


class StreamingConfig(_Strict):
    profile: Name = "throughput"
    profiles: dict[Name, RuntimeProfile] = {
        "throughput": RuntimeProfile(arrow_batch_size=10_000, bundle_size=500_000, bundle_time=1_000),
        "latency": RuntimeProfile(
            arrow_batch_size=1_000, bundle_size=1_000, bundle_time=20, buffer_timeout=10, state_changelog=True
        ),
    }
    parallelism: int = Field(default=1, ge=1)
    checkpoint_interval: DurationMs = 10_000
    state_ttl: DurationMs = 2 * 86_400_000
    features_at: Literal["watermark", "arrival"] = "watermark"
    """When an event's windowed and profile features are computed. watermark: once the watermark
    passes it (up to `event.max_out_of_orderness` after it arrives), exactly as training computes
    them, out-of-order and same-time events included. arrival: at once, from the events and profile
    versions of its entity that arrived before it: the training definition for events that arrive
    in time order after their profile, without holding every event in state until the watermark
    (the benchmark measures both). It differs for an event that arrives after a later one of its
    entity (not in that one's windows), for same-time events (each sees those arrived before it) and
    for an event that arrives before the profile version it falls in (the older version applies)."""
    state_backend: Literal["rocksdb", "hashmap"] = "rocksdb"
    """rocksdb: state larger than memory, incremental checkpoints; hashmap: state on the JVM heap, for
    state that fits in the TaskManagers' memory. Not faster here: 0.73x RocksDB's events per
    core-second in the benchmark (features on arrival, 1M events over 100k keys), its per-access
    state-TTL cleanup and GC outweighing RocksDB's reads (1.8x when RocksDB still compressed and the
    features waited for the watermark)."""
    timers: Literal["rocksdb", "heap"] = "rocksdb"
    """Where RocksDB keeps timers. The SQL operators keep two per entity for `state_ttl` (the
    temporal join's and the OVER's state-cleanup timers): on the heap they grow with the entities per
    slot, and 10M entities in one slot ran a 1.2 GB task heap out of memory in the benchmark. heap:
    about 1.05x the job's events per core-second (1M events over 100k keys), for a bounded keyspace."""
    model_poll_interval: DurationMs = 30_000
    idle_timeout: DurationMs = 60_000
    """An events partition silent this long stops holding the watermark back. Shorter is not safer:
    a partition that wakes up with events older than the other partitions' watermark dead-letters
    them as `late`, and Flink 2.2 drops the final watermark of a source that is idle when the job
    is stopped with --drain (FLINK-40499), so events still in event-time state are not scored."""
    profiles_idle_timeout: DurationMs = 10_000
    """The profiles topic changes once per refresh and must not hold event time back between
    publications; the delay gives the first read of the topic time to finish."""
    shadow: bool = False
    prometheus_port: int | None = Field(default=None, ge=1024, le=65535)
    flink_options: dict[str, str] = {}
    """Flink options for the job, set after streamscore's own (streaming/score_job.py `configure`), so
    they can override them: RocksDB tuning, checkpoint timeouts, anything the keys above do not name.
    Cluster-level options (memory sizes, slots) belong in the cluster's configuration instead."""

    def runtime(self, profile: str | None = None) -> RuntimeProfile:
        """The runtime profile named `profile` (None: the spec's `profile`)."""
        return self.profiles[profile or self.profile]

    def checkpoint_interval_of(self, profile: str | None = None) -> int:
        """The checkpoint interval, in ms, of the job under `profile` (None: the spec's `profile`)."""
        override = self.runtime(profile).checkpoint_interval
        return self.checkpoint_interval if override is None else override

    @model_validator(mode="after")
    def _known_profile(self) -> "StreamingConfig":
        if self.profile not in self.profiles:
            raise ValueError(f"profile {self.profile!r} is not defined; defined: {sorted(self.profiles)}")
        return self


class TopicsConfig(_Strict):
    events: str
    scored: str
    dead_letters: str
    review: str
    drift: str
    alerts: str
    profiles: str
    partitions: int = Field(default=2, ge=1)


class SyntheticConfig(_Strict):
    generator: Name
    entities: int = Field(default=10_000, gt=0)
    merchants: int = Field(default=2_000, gt=0)
    positive_rate: float = Field(default=0.015, gt=0, lt=1)


class PipelineSpec(_Strict):
    """A whole pipeline; `base_dir` is the spec file's folder, against which relative paths resolve."""

    name: Name
    description: str = ""
    event: EventConfig
    label: LabelConfig
    features: list[Feature] = Field(min_length=1)
    profiles: ProfilesConfig = ProfilesConfig()
    split: SplitConfig
    baseline: BaselineConfig = BaselineConfig()
    model: ModelConfig
    costs: CostConfig
    decision: DecisionConfig = DecisionConfig()
    drift: DriftConfig = DriftConfig()
    streaming: StreamingConfig = StreamingConfig()
    topics: TopicsConfig
    synthetic: SyntheticConfig | None = None
    base_dir: str = "."

    @model_validator(mode="after")
    def _names(self) -> "PipelineSpec":
        names = [f.name for f in self.features]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"feature names must be unique, repeated: {repeated}")
        for feature in self.features:
            if isinstance(feature, ProfileFeature) and feature.lookback % self.profiles.refresh:
                raise ValueError(
                    f"profile feature {feature.name!r}: lookback must be a multiple of profiles.refresh "
                    f"({self.profiles.refresh} ms), got {feature.lookback} ms"
                )
        unknown = sorted({r.feature for r in self.baseline.rules} - set(names))
        if unknown:
            raise ValueError(f"baseline.rules name unknown features {unknown}; features: {names}")
        for key, named in (("per_feature", set(self.drift.per_feature)), ("exclude", set(self.drift.exclude))):
            unknown = sorted(named - set(names))
            if unknown:
                raise ValueError(f"drift.{key} names unknown features {unknown}; features: {names}")
        return self

    @property
    def schema_path(self) -> Path:
        return (Path(self.base_dir) / self.event.schema_file).resolve()

    def event_schema(self) -> dict[str, Any]:
        return load_avro_schema(self.schema_path)

    def spec_hash(self) -> str:
        """Content hash of the spec and its event schema (not their location), recorded in every model and snapshot."""
        body = self.model_dump(mode="json", exclude={"base_dir"}, by_alias=True)
        body["event"]["schema"] = self.event_schema()  # the schema's content, wherever its file lives
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _format_problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f", got {got!r}"
    return f"{where}: {error['msg']}{shown}"


def _check_against_schema(spec: PipelineSpec, fields: dict[str, AvroField]) -> list[str]:
    """Every field the spec names must exist in the event schema, with a type that fits its use."""
    problems: list[str] = []

    def need(where: str, name: str, kinds: set[str]) -> None:
        if name not in fields:
            problems.append(f"{where}: field {name!r} is not in {spec.schema_path.name}; fields: {sorted(fields)}")
        elif fields[name].kind not in kinds:
            problems.append(f"{where}: field {name!r} has type {fields[name].kind}, expected one of {sorted(kinds)}")

    need("event.id", spec.event.id, {"string"})
    need("event.key", spec.event.key, {"string", "long", "int"})
    need("event.time", spec.event.time, {"timestamp-millis"})
    for name, rule in spec.event.fields.items():
        kinds = (
            {"int", "long", "float", "double"} if rule.min is not None or rule.max is not None else set(AvroField.KINDS)
        )
        if rule.max_length is not None:
            kinds = {"string"}
        need(f"event.fields.{name}", name, kinds)
    numeric = {"int", "long", "float", "double"}
    for i, feature in enumerate(spec.features):
        where = f"features.{i}.field"
        if isinstance(feature, NumericFeature):
            need(where, feature.field, numeric)
        elif isinstance(feature, CategoryFeature):
            need(where, feature.field, {"string"})
        elif isinstance(feature, WindowFeature | ProfileFeature) and feature.field is not None:
            kinds = set(AvroField.KINDS) if feature.agg == "count_distinct" else numeric
            need(where, feature.field, kinds)
    return problems


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Load and validate a spec file, including that its Avro schema has the fields it names.

    Raises:
        SpecError: naming the file and each bad key path with what was expected.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise SpecError(str(path), ["file not found"]) from exc
    except yaml.YAMLError as exc:
        raise SpecError(str(path), [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise SpecError(str(path), [f"expected a mapping at the top level, got {type(raw).__name__}"])
    raw.setdefault("base_dir", str(path.resolve().parent))
    try:
        spec = PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(str(path), [_format_problem(e) for e in exc.errors()]) from exc
    try:
        fields = record_fields(spec.event_schema())
    except (OSError, SchemaError) as exc:
        raise SpecError(str(path), [f"event.schema: {exc}"]) from exc
    problems = _check_against_schema(spec, fields)
    if problems:
        raise SpecError(str(path), problems)
    return spec


def with_topic_suffix(spec: PipelineSpec, suffix: str) -> PipelineSpec:
    """The same pipeline on topics of its own (`<topic>.<suffix>`): for demos and tests that must not
    read what earlier runs left on the shared topics."""
    topics = {k: f"{v}.{suffix}" for k, v in spec.topics.model_dump().items() if k != "partitions"}
    return spec.model_copy(update={"topics": spec.topics.model_copy(update=topics)})


def with_streaming(spec: PipelineSpec, **changes: Any) -> PipelineSpec:
    """The same pipeline with these `streaming` settings changed: the variants benchmarks and tests run."""
    return spec.model_copy(update={"streaming": spec.streaming.model_copy(update=changes)})


def without_deduplication(spec: PipelineSpec) -> PipelineSpec:
    """The same pipeline with `event.deduplicate: false`: what the benchmarks compare it with."""
    return spec.model_copy(update={"event": spec.event.model_copy(update={"deduplicate": False})})


def dump_pipeline(spec: PipelineSpec, path: Path) -> Path:
    """Write `spec` as YAML that `load_pipeline` reads back to an equal spec (schema path made absolute)."""
    body = spec.model_dump(mode="json", by_alias=True, exclude={"base_dir"})
    body["event"]["schema"] = str(spec.schema_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path
