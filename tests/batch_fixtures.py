"""Small labelled histories for the batch tests: the example spec on a few thousand events, fast to train."""

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from streamscore.shared.spec import PipelineSpec
from streamscore.shared.synthetic import generator_for

START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z


def small_spec(spec: PipelineSpec, **model: Any) -> PipelineSpec:
    """The example spec with a small population and a small, fast model (no search unless given)."""
    assert spec.synthetic is not None
    return spec.model_copy(
        update={
            "synthetic": spec.synthetic.model_copy(update={"entities": 400, "merchants": 200, "positive_rate": 0.03}),
            "model": spec.model.model_copy(
                update={"params": {"n_estimators": 20, "max_depth": 4, "learning_rate": 0.3}, "search": {}, **model}
            ),
        }
    )


def history(spec: PipelineSpec, events: int = 20_000, days: float = 8.0, seed: int = 3) -> pa.Table:
    generator, config = generator_for(spec, events=events, seed=seed, start_ms=START_MS, days=days)
    return generator(config)


def write(table: pa.Table, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "events.parquet")
    return folder
