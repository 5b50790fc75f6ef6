"""The synthetic payments: reproducible, realistic in the ways the models and tests rely on."""

import numpy as np
import pyarrow.compute as pc
import pytest

from streamscore.shared.errors import StreamscoreError
from streamscore.shared.synthetic import DriftInjection, GeneratorConfig, get_generator

START = 1_767_225_600_000  # 2026-01-01T00:00Z


def config(**overrides: object) -> GeneratorConfig:
    base = dict(events=50_000, seed=3, start_ms=START, days=10.0, entities=2_000, merchants=300, positive_rate=0.015)
    base.update(overrides)
    return GeneratorConfig(**base)  # type: ignore[arg-type]


generate = get_generator("payments")


def test_same_seed_same_events_other_seed_other_events() -> None:
    assert generate(config()).equals(generate(config()))
    assert not generate(config()).equals(generate(config(seed=4)))


def test_shape_label_rate_and_order() -> None:
    table = generate(config())
    assert table.num_rows == 50_000
    rate = pc.mean(table["is_fraud"].cast("int8")).as_py()
    assert 0.01 <= rate <= 0.02
    times = table["event_time"].cast("int64").to_numpy()
    assert np.all(np.diff(times) >= 0) and times.min() >= START and times.max() < START + 10 * 86_400_000
    assert len(set(table["event_id"].to_pylist())) == table.num_rows


def test_each_card_has_strictly_increasing_times() -> None:
    table = generate(config()).sort_by([("card_id", "ascending"), ("event_time", "ascending")])
    cards = table["card_id"].to_numpy(zero_copy_only=False)
    times = table["event_time"].cast("int64").to_numpy()
    same_card = cards[1:] == cards[:-1]
    assert np.all(np.diff(times)[same_card] > 0)


def test_daily_cycle_and_fraud_patterns() -> None:
    table = generate(config(events=200_000))
    hours = (table["event_time"].cast("int64").to_numpy() // 3_600_000) % 24
    assert np.sum(hours == 18) > 5 * np.sum(hours == 3)  # evenings are busy, nights quiet
    fraud = table["is_fraud"].to_numpy(zero_copy_only=False)
    amount = table["amount"].to_numpy()
    assert np.median(amount[fraud]) > 3 * np.median(amount[~fraud])
    ecom = table["channel"].to_numpy(zero_copy_only=False) == "ecom"
    assert ecom[fraud].mean() > 2 * ecom[~fraud].mean()
    missing = table["merchant_category"].is_null().to_numpy(zero_copy_only=False).mean()
    assert 0.005 < missing < 0.02


def test_drift_shifts_only_after_its_start() -> None:
    onset = START + 5 * 86_400_000
    plain = generate(config())
    drifted = generate(config(drift=DriftInjection(field="amount", start_ms=onset, scale=2.0)))
    after = drifted["event_time"].cast("int64").to_numpy() >= onset
    ratio = drifted["amount"].to_numpy() / plain["amount"].to_numpy()
    assert np.allclose(ratio[~after], 1.0)
    assert np.median(ratio[after]) == pytest.approx(2.0, rel=0.01)


def test_unknown_generator_and_bad_config_fail_clearly() -> None:
    with pytest.raises(StreamscoreError, match=r"unknown generator 'lottery'; known: \['payments'\]"):
        get_generator("lottery")
    with pytest.raises(ValueError, match="events must be > 0, got 0"):
        config(events=0)
