"""Training end to end on small data: registered bundle, parity gate, reproducibility, promotion, tampering."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from batch_fixtures import history, small_spec, write

from streamscore.shared.spec import PipelineSpec


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("batch-work")


@pytest.fixture(scope="module")
def spec(payments_spec: PipelineSpec) -> PipelineSpec:
    return small_spec(payments_spec)


@pytest.fixture(scope="module")
def history_dir(spec: PipelineSpec, workdir: Path) -> Path:
    return write(history(spec, events=30_000, days=10.0), workdir / "history")


@pytest.fixture(scope="module")
def trained(spark: Any, spec: PipelineSpec, history_dir: Path, workdir: Path, monkeypatch_module: Any) -> Any:
    from streamscore.batch.train import build_model

    return build_model(spark, spec, history_dir, workdir, progress=lambda _: None)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the test's own sqlite registry
        yield patch


def test_bundle_is_complete_verified_and_registered_as_challenger(trained: Any) -> None:
    from streamscore.shared.bundle import verify_bundle

    manifest = verify_bundle(trained.registered.path)
    for key in ("model_version", "created_at", "pipeline", "feature_order", "files", "metrics", "threshold"):
        assert key in manifest
    assert manifest["parity_max_abs_diff"] <= 1e-5
    assert set(manifest["lineage"]) >= {"snapshot", "git_commit", "packages", "jvm", "spark_conf", "seeds"}
    assert manifest["metrics"]["model"]["expected_cost"] < manifest["metrics"]["baseline"]["expected_cost"]
    assert trained.registered.aliases == ["challenger"]
    baseline = json.loads((trained.registered.path / "baseline.json").read_text())
    assert set(baseline["features"]) == set(manifest["feature_order"]["names"])
    amount = baseline["features"]["log_amount"]
    assert len(amount["proportions"]) == len(amount["edges"]) + 1 and abs(sum(amount["proportions"]) - 1) < 1e-9
    assert baseline["features"]["channel_code"]["frequencies"].keys() >= {"pos", "ecom", "atm", "__unknown__"}


def test_retraining_from_the_lineage_gives_the_same_scores(spark: Any, spec: PipelineSpec, trained: Any) -> None:
    from streamscore.batch.train import reproduce

    assert reproduce(spark, spec, trained.registered) <= 1e-6


def test_parity_gate_passes_the_exported_model_and_fails_a_wrong_one(
    spark: Any, spec: PipelineSpec, trained: Any, workdir: Path
) -> None:
    from pyspark.sql import functions as F

    from streamscore.batch.estimators import fit
    from streamscore.batch.parity import ParityError, parity_gate
    from streamscore.batch.train import _period
    from streamscore.batch.training_set import LABEL_COLUMN, Snapshot

    manifest = trained.manifest
    names = manifest["feature_order"]["names"]
    data = spark.read.parquet(str(Path(manifest["lineage"]["snapshot"]["path"]) / "data")).limit(3_000)
    right = fit("xgboost", {"n_estimators": 10, "max_depth": 3}, 1, data, names, LABEL_COLUMN, 1)
    wrong = fit("xgboost", {"n_estimators": 10, "max_depth": 2}, 1, data, names, LABEL_COLUMN, 1)
    period = _period(right, data.where(F.col(LABEL_COLUMN) >= 0), spec)
    assert parity_gate(right.to_onnx(spark).SerializeToString(), period.features, period.native) <= 1e-5
    with pytest.raises(ParityError, match=r"differ by .* \(> 1e-05\)"):
        parity_gate(wrong.to_onnx(spark).SerializeToString(), period.features, period.native)
    assert Snapshot.load(Path(manifest["lineage"]["snapshot"]["path"])).rows > 0


def test_promotion_needs_a_cheaper_model_or_a_forced_reason(
    spark: Any, spec: PipelineSpec, trained: Any, history_dir: Path, workdir: Path
) -> None:
    from streamscore.batch.promote import promote
    from streamscore.batch.train import build_model
    from streamscore.scoring.registry import CHAMPION, ModelRegistry
    from streamscore.shared.errors import StreamscoreError

    first = promote(spec, workdir)
    assert first.promoted and first.reason == "no champion yet"
    weak = small_spec(spec, params={"n_estimators": 1, "max_depth": 1, "learning_rate": 0.05})
    build_model(spark, weak, history_dir, workdir, progress=lambda _: None)
    second = promote(spec, workdir)
    assert not second.promoted and second.candidate_cost > second.champion_cost
    with pytest.raises(StreamscoreError, match="--force needs --reason"):
        promote(spec, workdir, force=True)
    forced = promote(spec, workdir, force=True, reason="rollback drill")
    assert forced.promoted and forced.forced and "rollback drill" in forced.reason
    registry = ModelRegistry(spec.name, workdir)
    assert registry.get(CHAMPION).version == second.candidate
    log = [json.loads(line) for line in (workdir / spec.name / "decisions.jsonl").read_text().splitlines()]
    assert [d["promoted"] for d in log] == [True, False, True]


def test_a_tampered_bundle_is_refused(spark: Any, spec: PipelineSpec, trained: Any, workdir: Path) -> None:
    from streamscore.scoring.onnx_model import OnnxModel
    from streamscore.shared.errors import BundleError

    model = trained.registered.path / "model.onnx"
    original = model.read_bytes()
    try:
        model.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        with pytest.raises(BundleError, match=r"model\.onnx has sha256"):
            OnnxModel.from_bundle(trained.registered.path)
    finally:
        model.write_bytes(original)
    loaded, _ = OnnxModel.from_bundle(trained.registered.path)
    assert loaded.score(np.zeros((2, loaded.n_features), np.float32)).shape == (2,)


def test_models_show_prints_the_manifest_and_path(trained: Any, workdir: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "payments" / "pipeline.yaml"
    command = [sys.executable, "-m", "streamscore.deploy", "models", "show", "1", "--json"]
    out = subprocess.run(
        [*command, "--workdir", str(workdir), "-p", str(example)],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(out.stdout)
    assert shown["path"] == str(trained.registered.path)
    assert shown["model_version"] == trained.manifest["model_version"]
