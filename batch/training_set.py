"""Job: build the point-in-time-correct training set, as an immutable snapshot named by its inputs.

    spark-submit batch/training_set.py --pipeline examples/payments/pipeline.yaml --history data/payments/history

The snapshot's name is a hash of the history files' bytes, the spec and the feature definitions,
so the same inputs always map to the same directory and are computed once (feature caching);
any change of data or definitions makes a new snapshot and leaves the old one intact.
"""

import hashlib
import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from streamscore.batch.checks import DataCheckError, check_events
from streamscore.batch.features import training_features
from streamscore.batch.job_args import job_parser
from streamscore.shared.bundle import sha256_file
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.features.vector import FeatureVector
from streamscore.shared.spec import PipelineSpec, load_pipeline

LABEL_COLUMN = "label"
META_FILE = "_snapshot.json"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    content_hash: str
    rows: int
    first_ms: int
    last_ms: int
    reused: bool

    @classmethod
    def load(cls, path: Path, reused: bool = True) -> "Snapshot":
        meta = json.loads((path / META_FILE).read_text())
        return cls(path, meta["content_hash"], meta["rows"], meta["first_ms"], meta["last_ms"], reused)


def history_files(history: Path) -> list[Path]:
    files = sorted(history.rglob("*.parquet")) if history.is_dir() else [history]
    if not files or not all(f.is_file() for f in files):
        raise StreamscoreError(f"no Parquet history at {history}; write some with `streamscore generate --out`")
    return files


def content_hash(spec: PipelineSpec, files: list[Path], root: Path) -> str:
    """sha256 over the spec, the feature version and every input file's name and bytes."""
    digest = hashlib.sha256()
    digest.update(spec.spec_hash().encode())
    digest.update(FeatureVector.of(spec).version.encode())
    for file in files:
        digest.update(str(file.relative_to(root) if file != root else file.name).encode())
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()


def snapshots_dir(workdir: Path, spec: PipelineSpec) -> Path:
    return workdir / spec.name / "snapshots"


def _previous(folder: Path, history: Path) -> Snapshot | None:
    """The newest snapshot built from the same history location: the one whose size this one is checked against."""
    source = str(history.resolve())
    found = [
        Snapshot.load(p)
        for p in folder.glob("*")
        if (p / META_FILE).is_file() and json.loads((p / META_FILE).read_text()).get("history") == source
    ]
    return max(found, key=lambda s: (s.path / META_FILE).stat().st_mtime, default=None)


def build_training_set(spark: SparkSession, spec: PipelineSpec, history: Path, workdir: Path) -> Snapshot:
    """The snapshot for this history and spec: reused if it exists, else checked, computed and written.

    Raises:
        DataCheckError: the history breaks a data check; nothing is written.
    """
    files = history_files(history)
    digest = content_hash(spec, files, history)
    folder = snapshots_dir(workdir, spec)
    target = folder / digest[:16]
    if (target / META_FILE).is_file():
        return Snapshot.load(target)
    events = spark.read.parquet(*[str(f) for f in files])
    previous = _previous(folder, history)
    results = check_events(events, spec, previous.rows if previous else None)
    if not all(r.passed for r in results):
        raise DataCheckError(results)
    labels = events.select(spec.event.id, F.col(spec.label.field).cast("int").alias(LABEL_COLUMN))
    dataset = training_features(spark, events, spec).join(labels, on=spec.event.id)
    staging = folder / f".staging-{uuid.uuid4().hex[:8]}"
    began = time.perf_counter()
    dataset.write.parquet(str(staging / "data"))
    bounds = spark.read.parquet(str(staging / "data")).agg(
        F.count(F.lit(1)).alias("rows"), F.min(spec.event.time).alias("first"), F.max(spec.event.time).alias("last")
    )
    stats = bounds.first()
    if stats is None or not stats["rows"]:
        shutil.rmtree(staging)
        raise StreamscoreError(f"the training set from {history} is empty")
    meta: dict[str, Any] = {
        "content_hash": digest,
        "rows": int(stats["rows"]),
        "first_ms": int(stats["first"]),
        "last_ms": int(stats["last"]),
        "history": str(history.resolve()),
        "inputs": {str(f): sha256_file(f) for f in files},
        "spec_hash": spec.spec_hash(),
        "feature_version": FeatureVector.of(spec).version,
        "label_column": LABEL_COLUMN,
        "checks": [{"name": r.name, "passed": r.passed, "detail": r.detail} for r in results],
        "seconds": round(time.perf_counter() - began, 1),
    }
    (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    staging.rename(target)  # atomic: a snapshot directory is complete or absent
    return Snapshot.load(target, reused=False)


def main(argv: list[str] | None = None) -> None:
    from streamscore.batch.session import local_session

    args = job_parser(__doc__).parse_args(argv)
    spec = load_pipeline(args.pipeline)
    snapshot = build_training_set(local_session("streamscore-training-set"), spec, args.history, args.workdir)
    state = "reused" if snapshot.reused else "built"
    print(f"{state} snapshot {snapshot.content_hash[:16]}: {snapshot.rows:,} rows at {snapshot.path}")


if __name__ == "__main__":
    main()
