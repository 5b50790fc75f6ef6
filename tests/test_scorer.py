"""The scorer's start: it serves the bundle the submitter pinned without asking MLflow, replaces a stale
pin with the registry's champion at its registry thread's first poll (a job restarted after a swap),
and falls back to the registry when the pinned bundle is gone (a restart after that version was
deleted) instead of failing."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyflink.fn_execution.metrics.process.metric_impl import GenericMetricGroup
from pyflink.table.udf import FunctionContext
from streaming_fixtures import ScoringRun

from streamscore.scoring.registry import CHAMPION, ModelRegistry
from streamscore.shared.features.vector import FeatureVector
from streamscore.streaming.scorer import ChampionScorer, Pinned


def _opened(scoring: ScoringRun, pinned: Pinned) -> ChampionScorer:
    scorer = ChampionScorer(
        pipeline=scoring.spec.name,
        workdir=str(scoring.workdir),
        tracking_uri=None,
        feature_version=FeatureVector.of(scoring.spec).version,
        poll_interval_ms=60_000,
        review_band=None,
        shadow=False,
        watched=(),
        drift_slide_ms=60_000,
        pinned=pinned,
    )
    scorer.open(FunctionContext(GenericMetricGroup(None, None), {}))
    return scorer


def test_a_stale_pin_serves_until_the_first_poll_and_a_gone_one_falls_back(scoring: ScoringRun, tmp_path: Path) -> None:
    champion = ModelRegistry(scoring.spec.name, scoring.workdir).get(CHAMPION)
    width = len(FeatureVector.of(scoring.spec).names)

    stale = _opened(scoring, {CHAMPION: (str(champion.path), champion.version + 100)})
    try:
        assert stale.champion.registry_version in (champion.version + 100, champion.version)
        deadline = time.monotonic() + 30
        while stale.champion.registry_version != champion.version and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stale.champion.registry_version == champion.version  # not after the 60 s poll interval
    finally:
        stale.close()

    gone = _opened(scoring, {CHAMPION: (str(tmp_path / "deleted"), champion.version + 100)})
    try:
        assert gone.champion.registry_version == champion.version
        scored = gone.eval(*[pd.Series(np.zeros(5, dtype=np.float32)) for _ in range(width)])
        assert len(scored) == 5 and set(scored["model_version"]) == {champion.manifest()["model_version"]}
    finally:
        gone.close()
