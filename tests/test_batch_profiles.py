"""Entity profiles reach the compacted topic as registry-framed Avro, one record per entity, equal to the Parquet."""

import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from batch_fixtures import history, small_spec, write

from streamscore.shared.spec import PipelineSpec

pytestmark = pytest.mark.stack


def test_profiles_are_published_keyed_by_entity(
    spark: Any, stack: Any, payments_spec: PipelineSpec, tmp_path: Path
) -> None:
    from streamscore.batch.profiles import build_profiles
    from streamscore.deploy.kafka_io import RegistryClient, consume_all, decode

    base = small_spec(payments_spec)
    topic = f"profiles-{uuid.uuid4().hex[:8]}"
    spec = base.model_copy(update={"topics": base.topics.model_copy(update={"profiles": topic})})
    folder = write(history(spec, events=5_000, days=3.0), tmp_path / "history")
    run = build_profiles(spark, spec, folder, tmp_path, kafka=(stack.bootstrap_servers, stack.registry_url))
    assert run.as_of_ms % spec.profiles.refresh == 0

    parquet = {r["card_id"]: r for r in pq.read_table(run.path).to_pylist()}
    registry = RegistryClient(stack.registry_url)
    messages = consume_all(stack.bootstrap_servers, topic, timeout_ms=3_000)
    published = {m.key.decode(): decode(registry, m.value) for m in messages}
    assert len(messages) == len(published) == len(parquet) == run.entities > 0
    card, row = next(iter(parquet.items()))
    assert published[card]["as_of_ms"] == run.as_of_ms
    for name in ("profile_amount_mean_30d", "profile_amount_std_30d", "profile_txn_count_30d"):
        assert published[card][name] == pytest.approx(row[name])
