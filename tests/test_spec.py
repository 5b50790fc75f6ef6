"""Spec loading: the example is valid, and each kind of mistake fails naming the key path and what was expected."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from streamscore.shared.errors import SpecError
from streamscore.shared.features.vector import FeatureVector
from streamscore.shared.spec import WindowFeature, load_pipeline

from .conftest import EXAMPLE, ROOT


def write_spec(tmp_path: Path, change: Any) -> Path:
    """The example spec with one change applied, written next to a copy of its schema."""
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["event"]["schema"] = str(ROOT / "schemas" / "payment_event.avsc")
    change(raw)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_example_loads_with_durations_in_ms(payments_spec: Any) -> None:
    windows = {f.name: f.window for f in payments_spec.features if isinstance(f, WindowFeature)}
    assert windows["txn_count_1h"] == 3_600_000
    assert windows["txn_count_24h"] == 86_400_000
    assert payments_spec.drift.window == 600_000 and payments_spec.drift.slide == 60_000


def test_second_pipeline_needs_only_a_spec_and_schema() -> None:
    spec = load_pipeline(ROOT / "tests" / "fixtures" / "logins" / "pipeline.yaml")
    assert FeatureVector.of(spec).names == ["bytes", "country", "logins_10m", "countries_10m"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["event"].update(kee="card_id"), r"event\.kee: Extra inputs are not permitted"),
        (
            lambda r: r["features"][5].update(window="an hour"),
            r"features\.5\.window.*expected a duration like '90s'.*got 'an hour'",
        ),
        (lambda r: r["features"][0].update(kind="polynomial"), r"features\.0: Input tag 'polynomial' found"),
        (lambda r: r["split"].update(test=0.3), r"split: Value error, train \+ validation \+ test must be 1, got 1\.1"),
        (lambda r: r["features"][5].update(field="amount"), r"features\.5\.window: Value error, agg 'count' counts"),
        (lambda r: r["features"][6].pop("field"), r"features\.6\.window: Value error, agg 'sum' needs a field"),
        (lambda r: r["features"].append(dict(r["features"][0])), r"feature names must be unique.*log_amount"),
        (
            lambda r: r["features"][0].update(field="amount_eur"),
            r"features\.0\.field: field 'amount_eur' is not in payment_event\.avsc",
        ),
        (
            lambda r: r["features"][3].update(field="amount"),
            r"features\.3\.field: field 'amount' has type double, expected one of \['string'\]",
        ),
        (lambda r: r["features"][3]["vocabulary"].append("fuel"), r"vocabulary has repeated values \['fuel'\]"),
        (lambda r: r["costs"].update(false_negative="a lot"), r"costs\.false_negative: Input should be a valid number"),
        (lambda r: r["streaming"].update(profile="turbo"), r"profile 'turbo' is not defined"),
        (lambda r: r["decision"].update(review_band=[0.8, 0.2]), r"review_band must satisfy 0 <= low < high <= 1"),
        (lambda r: r["drift"].update(window="90s"), r"drift: Value error, window must be a multiple of slide"),
        (lambda r: r["event"]["fields"]["amount"].update(min=10, max=1), r"min must be <= max"),
    ],
)
def test_bad_spec_names_file_key_and_expectation(tmp_path: Path, change: Any, message: str) -> None:
    path = write_spec(tmp_path, change)
    with pytest.raises(SpecError, match=message) as caught:
        load_pipeline(path)
    assert str(caught.value).startswith(str(path))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_pipeline(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_pipeline(bad)


def test_feature_vector_version_changes_with_any_definition(tmp_path: Path, payments_spec: Any) -> None:
    changed = load_pipeline(write_spec(tmp_path, lambda r: r["features"][5].update(window="2h")))
    assert FeatureVector.of(changed).version != FeatureVector.of(payments_spec).version
    assert FeatureVector.of(payments_spec).describe()["dtype"] == "float32"


def test_a_dumped_spec_loads_back_equal_with_its_own_topics(payments_spec: Any, tmp_path: Any) -> None:
    from streamscore.shared.spec import dump_pipeline, load_pipeline, with_topic_suffix

    moved = with_topic_suffix(payments_spec, "run1")
    again = load_pipeline(dump_pipeline(moved, tmp_path / "p.yaml"))
    assert again.topics.events == "payments.events.run1" and again.topics.partitions == payments_spec.topics.partitions
    assert again.spec_hash() == moved.spec_hash()
