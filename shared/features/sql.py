"""Compile the spec's feature definitions to SQL that Spark and Flink both run in the JVM.

The input relation holds the event's fields, the event time as BIGINT epoch milliseconds under
its own name, `TS_COLUMN` as the (row)time attribute, and, for profile features, one nullable
column per profile feature under the feature's name (the engine joins profiles in).

Windowed features are defined by the frame `RANGE BETWEEN <w> PRECEDING AND CURRENT ROW` ordered
by event time: the event itself and same-timestamp events are in, later events never are. Spark
runs that frame as written, one SELECT per window length. Flink would give each such OVER its own
keyed operator holding whole rows in state, so on Flink one aggregate function computes every
windowed feature in a single OVER (`WINDOW_FEATURES`, deploy/jvm/flink-udf), to the same
definition; the parity tests hold the two engines to it. With `streaming.features_at: arrival` the
same function runs in an OVER ordered by arrival (`FLINK_ON_ARRIVAL`), next to `PROFILE_AS_OF`
reading profile versions that come through the same operator; there it also deduplicates (see
`deduplicated_in_windows`). "Since previous" is the time since the latest event with an earlier
timestamp (same-timestamp events do not count, so no engine's order among them matters). A last
SELECT shapes the float32 feature vector.
"""

from dataclasses import dataclass

from streamscore.shared.features.vector import FeatureVector
from streamscore.shared.spec import (
    CategoryFeature,
    NumericFeature,
    PipelineSpec,
    ProfileFeature,
    SincePreviousFeature,
    TimePartFeature,
    WindowFeature,
)

TS_COLUMN = "__ts"
"""The event time as a timestamp (a rowtime attribute in Flink); the compiler orders windows by it."""
ARRIVAL_COLUMN = "__arrival"
"""A processing-time attribute: what `FLINK_ON_ARRIVAL` orders its window operator by."""
PROFILE_AS_OF_COLUMN = "__profile_as_of"
"""In `FLINK_ON_ARRIVAL`'s input: a profile version's as_of_ms on a profile row, null on an event."""
OCCURRENCE_COLUMN = "__occurrence"
"""How many times an event's id has arrived up to and including it: 1 for the event itself, more for
a repeat (a dead letter). Named so that no event field is likely to clash."""

_MS_PER_DAY = 86_400_000
_MS_PER_HOUR = 3_600_000
_EPOCH_DAY0_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0.


@dataclass(frozen=True)
class Dialect:
    """How an engine computes the windowed features."""

    name: str
    window_function: str | None
    """An aggregate computing every windowed feature in one OVER; None: one SQL OVER per window length."""
    profile_function: str | None = None
    """An aggregate in the same OVER answering each event with the profile version it falls in, from
    profile rows in the input (`PROFILE_AS_OF_COLUMN` and `profile_version_column`), which are not
    passed on; None: the input has the profile features joined in under their names."""
    order_column: str = TS_COLUMN
    """What the windows' OVER is ordered by: the rowtime (each event once the watermark passes it,
    same-time events together) or `ARRIVAL_COLUMN` (each row on arrival)."""
    deduplicates: bool = False
    """The windows' operator can also tell each event's occurrence (`OCCURRENCE_COLUMN`): it answers
    row by row, so a repeat gets an answer of its own; ordered by the rowtime, same-time rows (an event
    and its repeat) share one."""


SPARK = Dialect(name="spark", window_function=None)
FLINK = Dialect(name="flink", window_function="WINDOW_FEATURES")
FLINK_ON_ARRIVAL = Dialect(
    name="flink",
    window_function="WINDOW_FEATURES",
    profile_function="PROFILE_AS_OF",
    order_column=ARRIVAL_COLUMN,
    deduplicates=True,
)


def profile_version_column(name: str) -> str:
    """In `FLINK_ON_ARRIVAL`'s input: profile feature `name`'s value on a profile row, null on an event."""
    return f"__pv_{name}"


def quote(identifier: str) -> str:
    """Backtick quoting, which both engines accept."""
    return f"`{identifier}`"


def interval(ms: int) -> str:
    """A DAY TO SECOND literal; both engines parse this form (Flink caps SECOND-only literals at 99 s)."""
    days, rest = divmod(ms, _MS_PER_DAY)
    hours, rest = divmod(rest, _MS_PER_HOUR)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1_000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}' DAY TO SECOND"


def _intermediate(name: str) -> str:
    return f"__f_{name}"


@dataclass(frozen=True)
class Stage:
    """One SELECT of the chain: `sql` reads the view named `source` and is registered as `name`."""

    name: str
    source: str
    sql: str


def _over(spec: PipelineSpec, frame: str, order: str = TS_COLUMN) -> str:
    return f"(PARTITION BY {quote(spec.event.key)} ORDER BY {quote(order)} {frame})"


def _aggregated_field(feature: WindowFeature) -> str:
    """The field a non-count window feature aggregates."""
    if feature.field is None:
        raise TypeError(f"window feature {feature.name!r} with agg {feature.agg!r} has no field")
    return feature.field


def _window_expr(feature: WindowFeature, window: str) -> str:
    if feature.agg == "count":
        return f"COUNT(*) OVER {window}"
    field = _aggregated_field(feature)
    if feature.agg == "count_distinct":
        return f"SIZE(COLLECT_SET({quote(field)}) OVER {window})"
    value = f"CAST({quote(field)} AS DOUBLE)"
    function = {"sum": "SUM", "mean": "AVG", "max": "MAX", "min": "MIN"}[feature.agg]
    return f"{function}({value}) OVER {window}"


_PREVIOUS_TIME = "__prev_time"


def _keyed(spec: PipelineSpec, dialect: Dialect) -> bool:
    """Whether the features need a keyed operator (windows, the previous event, profile versions)."""
    looked_up = dialect.profile_function is not None and bool(profile_features(spec))
    return looked_up or any(isinstance(f, WindowFeature | SincePreviousFeature) for f in spec.features)


def deduplicated_in_windows(spec: PipelineSpec, dialect: Dialect) -> bool:
    """Whether the windows' operator deduplicates the events (`event.deduplicate`), adding
    `OCCURRENCE_COLUMN`, instead of an operator of its own keyed by event id.

    On arrival it can: its accumulator already holds each entity's events, one more 8-byte id
    fingerprint each, and a repeat of an event is the same entity's. The separate operator costs a
    second shuffle and its own state read and write per event: the job's events per core-second
    were 1.30-1.36x with the windows deduplicating (4M events over 4M keys, benchmarks/README.md). A
    repeat is then one of the same entity within `deduplicate_within` of event time (or the longest
    window, if longer): the same id on another entity is another event.
    """
    return dialect.deduplicates and spec.event.deduplicate and _keyed(spec, dialect)


def _window_stages(spec: PipelineSpec, dialect: Dialect, source: str) -> list[Stage]:
    """Stages adding `_intermediate(name)` per windowed feature and `_PREVIOUS_TIME` (null: no earlier event)."""
    windowed = [f for f in spec.features if isinstance(f, WindowFeature)]
    since_previous = any(isinstance(f, SincePreviousFeature) for f in spec.features)
    if not _keyed(spec, dialect):
        return []
    if dialect.window_function is not None:
        return _one_operator_stages(spec, dialect, source, windowed)
    stages: list[Stage] = []
    frames: dict[int, list[WindowFeature]] = {}
    for feature in windowed:
        frames.setdefault(feature.window, []).append(feature)
    for window_ms, features in sorted(frames.items()):
        window = _over(spec, f"RANGE BETWEEN {interval(window_ms)} PRECEDING AND CURRENT ROW")
        columns = ", ".join(f"{_window_expr(f, window)} AS {quote(_intermediate(f.name))}" for f in features)
        name = f"{source}__w{window_ms}"
        stages.append(Stage(name=name, source=source, sql=f"SELECT *, {columns} FROM {quote(source)}"))
        source = name
    if since_previous:
        earlier = _over(spec, f"RANGE BETWEEN UNBOUNDED PRECEDING AND {interval(1)} PRECEDING")
        column = f"MAX({quote(spec.event.time)}) OVER {earlier} AS {quote(_PREVIOUS_TIME)}"
        name = f"{source}__prev"
        stages.append(Stage(name=name, source=source, sql=f"SELECT *, {column} FROM {quote(source)}"))
    return stages


def _one_operator_stages(
    spec: PipelineSpec, dialect: Dialect, source: str, windowed: list[WindowFeature]
) -> list[Stage]:
    """`window_function`(plan, time, args...) OVER the whole past (and `profile_function`, in the same
    operator), then the arrays unpacked into columns.

    The plan (read by deploy/jvm/flink-udf's WindowFeatures): argument kinds, per feature
    `agg@window_ms@argument`, then the allowed lateness (events kept beyond the longest window for
    late arrivals), and when it deduplicates how long ids are kept at least (the event id is then its
    last argument); the array's element after the features is the previous event time, then the
    occurrence.
    """
    args: list[str] = []
    kinds = ""
    outputs = []
    for feature in windowed:
        slot = -1
        if feature.agg != "count":
            text = feature.agg == "count_distinct"
            arg = f"CAST({quote(_aggregated_field(feature))} AS {'STRING' if text else 'DOUBLE'})"
            if arg not in args:
                args.append(arg)
                kinds += "t" if text else "n"
            slot = args.index(arg)
        agg = {"count_distinct": "distinct"}.get(feature.agg, feature.agg)
        outputs.append(f"{agg}@{feature.window}@{slot}")
    outputs = outputs or ["count@0@-1"]  # since_previous alone: the array still has a first element
    lateness = spec.event.max_out_of_orderness
    plan = f"{kinds}|{';'.join(outputs)}|{lateness}"
    deduplicated = deduplicated_in_windows(spec, dialect)
    if deduplicated:
        plan += f"|{spec.event.deduplicate_within}"
        args.append(f"CAST({quote(spec.event.id)} AS STRING)")
    call = ", ".join([f"'{plan}'", quote(spec.event.time), *args])
    # RANGE: same-time rows are released together; ROWS: each row is answered on its own, on arrival.
    rows = "RANGE" if dialect.order_column == TS_COLUMN else "ROWS"
    frame = _over(spec, f"{rows} BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", dialect.order_column)
    aggregates = [f"{dialect.window_function}({call}) OVER {frame} AS `__w`"]
    columns = [f"`__w`[{i + 1}] AS {quote(_intermediate(f.name))}" for i, f in enumerate(windowed)]
    columns.append(f"CAST(`__w`[{len(outputs) + 1}] AS BIGINT) AS {quote(_PREVIOUS_TIME)}")
    if deduplicated:
        columns.append(f"CAST(`__w`[{len(outputs) + 2}] AS BIGINT) AS {quote(OCCURRENCE_COLUMN)}")
    events_only = ""
    profiles = profile_features(spec)
    if dialect.profile_function is not None and profiles:
        versions = [quote(profile_version_column(f.name)) for f in profiles]
        as_of = quote(PROFILE_AS_OF_COLUMN)
        looked_up = ", ".join([f"CAST({lateness} AS BIGINT)", quote(spec.event.time), as_of, *versions])
        aggregates.append(f"{dialect.profile_function}({looked_up}) OVER {frame} AS `__p`")
        columns += [f"`__p`[{i + 1}] AS {quote(f.name)}" for i, f in enumerate(profiles)]
        events_only = f" WHERE {quote(PROFILE_AS_OF_COLUMN)} IS NULL"
    packed = f"{source}__windows"
    return [
        Stage(name=packed, source=source, sql=f"SELECT *, {', '.join(aggregates)} FROM {quote(source)}"),
        Stage(
            name=f"{source}__unpacked",
            source=packed,
            sql=f"SELECT *, {', '.join(columns)} FROM {quote(packed)}{events_only}",
        ),
    ]


def _feature_expr(spec: PipelineSpec, feature: object) -> str:
    time = f"CAST({quote(spec.event.time)} AS DOUBLE)"
    if isinstance(feature, NumericFeature):
        value = f"COALESCE(CAST({quote(feature.field)} AS DOUBLE), {feature.fill!r})"
        return f"LN(1.0 + {value})" if feature.transform == "log1p" else value
    if isinstance(feature, TimePartFeature):
        days = f"FLOOR({time} / {_MS_PER_DAY})"
        if feature.part == "hour_of_day":
            return f"FLOOR(({time} - {days} * {_MS_PER_DAY}) / {_MS_PER_HOUR})"
        shifted = f"({days} + {_EPOCH_DAY0_WEEKDAY})"
        return f"({shifted} - FLOOR({shifted} / 7) * 7)"
    if isinstance(feature, CategoryFeature):
        column = quote(feature.field)
        cases = " ".join(f"WHEN {column} = '{value}' THEN {i}" for i, value in enumerate(feature.vocabulary))
        return f"CASE {cases} ELSE {len(feature.vocabulary)} END"
    if isinstance(feature, WindowFeature):
        return f"COALESCE({quote(_intermediate(feature.name))}, {feature.fill!r})"
    if isinstance(feature, SincePreviousFeature):
        gap = f"(CAST({quote(spec.event.time)} - {quote(_PREVIOUS_TIME)} AS DOUBLE) / 1000.0)"
        if feature.cap_s is not None:
            gap = f"LEAST({gap}, {feature.cap_s!r})"
        return f"CASE WHEN {quote(_PREVIOUS_TIME)} IS NULL THEN {feature.fill!r} ELSE {gap} END"
    if isinstance(feature, ProfileFeature):
        return f"COALESCE(CAST({quote(feature.name)} AS DOUBLE), {feature.default!r})"
    raise TypeError(f"no SQL for feature kind {type(feature).__name__}")


def compile_features(spec: PipelineSpec, dialect: Dialect, source: str, keep: tuple[str, ...] = ()) -> list[Stage]:
    """The chain of SELECTs that turns the input view `source` into id, key, time and the features.

    The last stage's columns are the event id, the entity key, the event time (BIGINT ms), the
    `keep` columns of `source` (the stream keeps its rowtime for drift windows) and one FLOAT
    column per feature in `FeatureVector.of(spec).names` order.
    """
    stages = _window_stages(spec, dialect, source)
    last = stages[-1].name if stages else source
    vector = FeatureVector.of(spec)
    carried = [spec.event.id, spec.event.key, spec.event.time, *keep]
    columns = [quote(c) for c in carried] + [
        f"CAST({_feature_expr(spec, f)} AS FLOAT) AS {quote(f.name)}" for f in vector.features
    ]
    final = Stage(name=f"{source}__features", source=last, sql=f"SELECT {', '.join(columns)} FROM {quote(last)}")
    return [*stages, final]


PERIOD_COLUMN = "__period"
"""Index of the profile refresh period an event falls in: FLOOR(time / refresh)."""

_PARTS = {
    "count": ("n",),
    "sum": ("s",),
    "mean": ("n", "s"),
    "max": ("mx",),
    "min": ("mn",),
    "stddev": ("n", "s", "ss"),
}
_PART_SQL = {"n": "COUNT({v})", "s": "SUM({v})", "ss": "SUM({v} * {v})", "mx": "MAX({v})", "mn": "MIN({v})"}
_PART_MERGE = {"n": "SUM", "s": "SUM", "ss": "SUM", "mx": "MAX", "mn": "MIN"}


def profile_features(spec: PipelineSpec) -> list[ProfileFeature]:
    """The spec's profile features, in vector order: the columns of the profiles topic and of the join."""
    return [f for f in spec.features if isinstance(f, ProfileFeature)]


def _part(feature: ProfileFeature, part: str) -> str:
    return f"__p_{feature.name}_{part}"


def _profile_value(feature: ProfileFeature, merged: dict[str, str]) -> str:
    """The profile value from merged partials; the one formula for training and for publishing."""
    if feature.agg == "count":
        return merged["n"]
    if feature.agg in ("sum", "max", "min"):
        return merged[_PARTS[feature.agg][0]]
    mean = f"({merged['s']} / NULLIF({merged['n']}, 0))"
    if feature.agg == "mean":
        return mean
    return f"SQRT(GREATEST({merged['ss']} / NULLIF({merged['n']}, 0) - {mean} * {mean}, 0.0))"


def compile_profile_partials(spec: PipelineSpec, source: str) -> Stage:
    """Per entity and refresh period: counts, sums, sums of squares, max and min that merge by SUM/MAX/MIN.

    Profiles over any run of whole periods are merges of these rows, so training (a profile per
    period) and publishing (one profile as of now) read the same partials through one formula.
    """
    time = quote(spec.event.time)
    columns = [quote(spec.event.key), f"FLOOR({time} / {spec.profiles.refresh}) AS {quote(PERIOD_COLUMN)}"]
    for feature in profile_features(spec):
        value = "1" if feature.field is None else f"CAST({quote(feature.field)} AS DOUBLE)"
        columns += [f"{_PART_SQL[p].format(v=value)} AS {quote(_part(feature, p))}" for p in _PARTS[feature.agg]]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(source)} "
        f"GROUP BY {quote(spec.event.key)}, FLOOR({time} / {spec.profiles.refresh})"
    )
    return Stage(name=f"{source}__profile_parts", source=source, sql=sql)


def compile_profile_history(spec: PipelineSpec, source: str) -> list[Stage]:
    """Each entity's profiles as of the start of every period it has events in (batch only).

    The row for period p merges periods [p - lookback/refresh, p - 1]: the events in
    [p*refresh - lookback, p*refresh), exactly what the stream sees from a profile published
    at the start of period p. An event joins the row of its own period, so no feature of a
    training event is computed from that event's period or later.
    """
    parts = compile_profile_partials(spec, source)
    key, period = quote(spec.event.key), quote(PERIOD_COLUMN)
    columns = [key, period]
    for feature in profile_features(spec):
        periods = feature.lookback // spec.profiles.refresh
        frame = f"OVER (PARTITION BY {key} ORDER BY {period} RANGE BETWEEN {periods} PRECEDING AND 1 PRECEDING)"
        merged = {p: f"{_PART_MERGE[p]}({quote(_part(feature, p))}) {frame}" for p in _PARTS[feature.agg]}
        columns.append(f"CAST({_profile_value(feature, merged)} AS DOUBLE) AS {quote(feature.name)}")
    history = Stage(
        name=f"{source}__profile_history", source=parts.name, sql=f"SELECT {', '.join(columns)} FROM {parts.name}"
    )
    return [parts, history]


def compile_profiles(spec: PipelineSpec, source: str, as_of_ms: int) -> list[Stage]:
    """Each entity's profile features as of `as_of_ms`, a period boundary: what batch publishes.

    Each feature merges the periods in [as_of - lookback, as_of); entities with no events there
    get no row, so the stream falls back to the feature's default.
    """
    refresh = spec.profiles.refresh
    if as_of_ms % refresh:
        raise ValueError(f"as_of_ms must be a multiple of profiles.refresh ({refresh} ms), got {as_of_ms}")
    parts = compile_profile_partials(spec, source)
    period, end = quote(PERIOD_COLUMN), as_of_ms // refresh
    columns = [quote(spec.event.key)]
    lookback = 0
    for feature in profile_features(spec):
        begin = end - feature.lookback // refresh
        lookback = max(lookback, feature.lookback // refresh)
        inside = f"{period} >= {begin} AND {period} < {end}"
        merged = {
            p: f"{_PART_MERGE[p]}(CASE WHEN {inside} THEN {quote(_part(feature, p))} END)" for p in _PARTS[feature.agg]
        }
        columns.append(f"CAST({_profile_value(feature, merged)} AS DOUBLE) AS {quote(feature.name)}")
    sql = (
        f"SELECT {', '.join(columns)} FROM {parts.name} "
        f"WHERE {period} >= {end - lookback} AND {period} < {end} GROUP BY {quote(spec.event.key)}"
    )
    return [parts, Stage(name=f"{source}__profiles", source=parts.name, sql=sql)]
