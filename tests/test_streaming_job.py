"""The scoring job on a real Flink cluster: every input record is scored or dead-lettered, exactly once."""

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from streaming_fixtures import ScoringRun, failure_spec, read_topic

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


def test_on_arrival_a_resent_event_is_a_dead_letter_and_its_id_on_another_card_is_scored(
    flink_stack: Any, scoring: ScoringRun, tmp_path: Path
) -> None:
    """With features on arrival the windows' operator deduplicates (`deduplicated_in_windows`): each
    resent record is a `duplicate` dead letter with its bytes and origin, and an event of another card
    that reuses an id is scored, as the other card's."""
    from streamscore.deploy.cli import produce_events
    from streamscore.streaming.submit import flink_run

    spec, spec_file = failure_spec(scoring, tmp_path, features_at="arrival")
    live = scoring.live.slice(0, 2_000)
    rows, reused = live.to_pylist(), 0
    for i in range(50, len(rows), 50):  # never the row a resend (below) copies
        if rows[i - 1][spec.event.key] != rows[i][spec.event.key]:
            rows[i][spec.event.id] = rows[i - 1][spec.event.id]
            reused += 1
    resent = range(0, len(rows), 40)
    events = [rows[i] for i in sorted([*range(len(rows)), *resent])]  # each resend right after its original
    produce_events(spec, pa.Table.from_pylist(events, schema=live.schema), malformed_rate=0.0, seed=0)
    flink_run(flink_stack, spec_file, scoring.workdir, group_id=f"dedup-{uuid.uuid4().hex[:8]}", bounded=True)

    scored, dead = read_topic(flink_stack, spec.topics.scored), read_topic(flink_stack, spec.topics.dead_letters)
    assert len(scored) + len(dead) == len(events)
    assert len(dead) == len(resent) > 0 and reused > 0
    assert {d["reason"] for d in dead} == {"duplicate"}
    assert {(d["source_topic"], bool(d["original"])) for d in dead} == {(spec.topics.events, True)}
    by_id = Counter(s["event_id"] for s in scored)
    assert sum(n - 1 for n in by_id.values()) == reused  # each reused id scored on both cards
