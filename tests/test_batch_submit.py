"""The jobs run the way users run them: `spark-submit batch/<job>.py`, arguments checked."""

import os
import subprocess
import sys
from pathlib import Path

from batch_fixtures import history, small_spec, write

from streamscore.shared.spec import PipelineSpec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payments" / "pipeline.yaml"


def _submit(*args: str) -> subprocess.CompletedProcess[str]:
    spark_submit = Path(sys.executable).parent / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    return subprocess.run(
        [str(spark_submit), "--master", "local[2]", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_spark_submit_builds_then_reuses_the_training_set(payments_spec: PipelineSpec, tmp_path: Path) -> None:
    folder = write(history(small_spec(payments_spec), events=3_000, days=3.0), tmp_path / "history")
    job = [str(ROOT / "batch" / "training_set.py"), "--pipeline", str(EXAMPLE), "--history", str(folder)]
    first = _submit(*job, "--workdir", str(tmp_path))
    assert first.returncode == 0, first.stderr[-2000:]
    assert "built snapshot" in first.stdout and "3,000 rows" in first.stdout
    again = _submit(*job, "--workdir", str(tmp_path))
    assert "reused snapshot" in again.stdout


def test_unknown_flags_are_errors() -> None:
    result = _submit(str(ROOT / "batch" / "train.py"), "--pipeline", str(EXAMPLE), "--history", "x", "--histroy", "x")
    assert result.returncode != 0 and "unrecognized arguments: --histroy" in result.stdout + result.stderr
