"""The scoring job on a real Flink cluster: every input record is scored or dead-lettered, exactly once."""

from collections import Counter

import pytest
from streaming_fixtures import ScoringRun

pytestmark = pytest.mark.stack


@pytest.fixture
def run(scoring: ScoringRun) -> ScoringRun:
    return scoring


def test_every_record_is_scored_or_dead_lettered_once(run: ScoringRun) -> None:
    assert len(run.scored) + len(run.dead) == run.produced
    assert len({s["event_id"] for s in run.scored}) == len(run.scored)
    assert len({(d["source_partition"], d["source_offset"]) for d in run.dead}) == len(run.dead)


def test_dead_letters_say_why_and_keep_the_bytes(run: ScoringRun) -> None:
    from streamscore.deploy.hostile import REASONS

    expected = Counter[str]()
    for kind, count in run.malformed.items():
        expected[REASONS[kind]] += count
    assert {r: n for r, n in run.reasons().items() if r != "late"} == expected
    assert all(d["original"] and d["source_topic"] == run.spec.topics.events for d in run.dead)


def test_scored_events_carry_the_champion_and_its_decisions(run: ScoringRun) -> None:
    assert {s["model_version"] for s in run.scored} == {run.champion_version}
    assert all(0.0 <= s["score"] <= 1.0 for s in run.scored)
    low, high = run.spec.decision.review_band or (0, 0)
    assert len(run.review) == sum(low <= s["score"] <= high for s in run.scored)
