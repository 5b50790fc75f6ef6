"""COUNT_OCCURRENCES, the deduplication counter: its per-id state expires after `forget_after_ms`."""

from typing import Any

import pytest

from streamscore.shared.features.sql import OCCURRENCE_COLUMN
from streamscore.streaming.java_functions import COUNT_OCCURRENCES_FUNCTION

ROWS = 8


def _alternating_ids(flink_env: Any, name: str) -> str:
    """Two ids alternating, one of each per second (datagen sends a second's rows at once), and the row number."""
    flink_env.execute_sql(
        f"CREATE TEMPORARY TABLE `{name}` (`n` BIGINT) WITH ('connector' = 'datagen', "
        f"'rows-per-second' = '2', 'number-of-rows' = '{ROWS}', 'fields.n.kind' = 'sequence', "
        f"'fields.n.start' = '1', 'fields.n.end' = '{ROWS}')"
    )
    flink_env.create_temporary_view(f"{name}_ids", flink_env.sql_query(f"SELECT `n` % 2 AS `id`, `n` FROM `{name}`"))
    return f"{name}_ids"


def _count(ids: str, forget_after_ms: str) -> str:
    return (
        f"SELECT `id`, `n`, `{OCCURRENCE_COLUMN}` FROM {COUNT_OCCURRENCES_FUNCTION}("
        f"input => TABLE `{ids}` PARTITION BY `id`, forget_after_ms => {forget_after_ms})"
    )


def _occurrences(flink_env: Any, forget_after_ms: int) -> dict[int, list[int]]:
    """id -> its counts in arrival order."""
    ids = _alternating_ids(flink_env, f"alternating_{forget_after_ms}")
    with flink_env.sql_query(_count(ids, f"CAST({forget_after_ms} AS BIGINT)")).execute().collect() as results:
        rows = sorted((r[0], r[1], r[2]) for r in results)
    by_id: dict[int, list[int]] = {}
    for identifier, _, count in rows:
        by_id.setdefault(identifier, []).append(count)
    return by_id


def test_every_row_passes_through_with_its_count_while_the_id_is_remembered(flink_env: Any) -> None:
    assert _occurrences(flink_env, 600_000) == {0: list(range(1, ROWS // 2 + 1)), 1: list(range(1, ROWS // 2 + 1))}


def test_an_id_not_seen_for_forget_after_ms_counts_from_one_again(flink_env: Any) -> None:
    assert _occurrences(flink_env, 100) == {0: [1] * (ROWS // 2), 1: [1] * (ROWS // 2)}


def test_a_horizon_that_is_not_a_bigint_literal_is_a_clear_error(flink_env: Any) -> None:
    ids = _alternating_ids(flink_env, "alternating_int")
    with pytest.raises(Exception, match="forget_after_ms must be a BIGINT literal"):
        flink_env.sql_query(_count(ids, "600000")).explain()
