"""The cluster deployment files parse, carry what production needs, and agree with the pinned
versions and the example pipeline (a file that drifts from the code fails here, not in a cluster)."""

import json
import re
import shlex
import subprocess
import tomllib
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from streamscore.batch.job_args import job_parser as batch_parser
from streamscore.deploy.cli import app
from streamscore.shared.spec import load_pipeline
from streamscore.streaming.score_job import build_parser as job_parser

from .conftest import ROOT

CLUSTER = ROOT / "deploy" / "cluster"
SPEC = load_pipeline(ROOT / "examples" / "payments" / "pipeline.yaml")


def pinned(package: str) -> str:
    for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==")[1]
    raise AssertionError(f"{package} is not pinned in deploy/constraints.txt")


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    return yaml.safe_load((CLUSTER / "flink-deployment.yaml").read_text())


def test_the_image_uses_the_pinned_flink_and_python_and_ships_every_package() -> None:
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    flink = pinned("apache-flink")
    assert f"ARG FLINK_IMAGE=flink:{flink}-scala_2.12-java17" in dockerfile
    python = re.search(r"<(\d+)\.(\d+)", project()["requires-python"])
    assert python and f"ARG PYTHON_IMAGE=python:{python[1]}.{int(python[2]) - 1}-slim" in dockerfile
    assert "-c /src/deploy/constraints.txt" in dockerfile and "deploy/jvm/pom.xml package" in dockerfile
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values()
    assert sorted(f for f in folders if f"COPY {f} /src/{f}" not in dockerfile) == []


def test_the_flink_deployment_is_durable_and_runs_the_job_with_flags_it_accepts(deployment: dict[str, Any]) -> None:
    assert (deployment["apiVersion"], deployment["kind"]) == ("flink.apache.org/v1beta1", "FlinkDeployment")
    spec = deployment["spec"]
    flink = pinned("apache-flink")
    assert spec["flinkVersion"] == "v" + "_".join(flink.split(".")[:2])
    assert spec["image"] == f"streamscore/job:{project()['version']}"
    config = spec["flinkConfiguration"]
    assert config["state.backend.type"] == "rocksdb" and config["execution.checkpointing.mode"] == "EXACTLY_ONCE"
    for durable in (
        "execution.checkpointing.dir",
        "execution.checkpointing.savepoint-dir",
        "high-availability.storageDir",
        "dstl.dfs.base-path",  # the state changelog of the `latency` profile
    ):
        assert config[durable].startswith("s3://"), durable
    assert config["state.changelog.storage"] == "filesystem"
    assert config["high-availability.type"] == "kubernetes" and config["restart-strategy.type"]
    job = spec["job"]
    assert job["upgradeMode"] == "savepoint" and job["jarURI"].endswith(f"flink-python-{flink}.jar")
    args = job["args"]
    assert args[:2] == ["-py", "/opt/streamscore/score_job.py"]
    parsed = job_parser().parse_args(args[2:])  # unknown flags would exit
    assert parsed.bootstrap and parsed.registry_url


def test_topics_match_the_pipeline_and_survive_a_broker_loss() -> None:
    topics = {t["metadata"]["name"]: t["spec"] for t in yaml.safe_load_all((CLUSTER / "kafka-topics.yaml").read_text())}
    names = SPEC.topics.model_dump(exclude={"partitions"})
    assert set(topics) == set(names.values())
    for name, topic in topics.items():
        assert (topic["partitions"], topic["replicas"], topic["config"]["min.insync.replicas"]) == (
            SPEC.topics.partitions,
            3,
            2,
        ), name
    assert topics[names["profiles"]]["config"]["cleanup.policy"] == "compact"
    outputs = [names[k] for k in ("scored", "review", "dead_letters", "drift", "alerts")]
    assert {topics[t]["config"]["message.timestamp.type"] for t in outputs} == {"LogAppendTime"}


def test_prometheus_scrapes_the_port_the_reporter_listens_on(deployment: dict[str, Any]) -> None:
    config = yaml.safe_load((CLUSTER / "prometheus.yml").read_text())
    assert config["scrape_configs"][0]["kubernetes_sd_configs"][0]["role"] == "pod"
    container = deployment["spec"]["podTemplate"]["spec"]["containers"][0]
    port = next(p for p in container["ports"] if p["name"] == "metrics")
    assert str(port["containerPort"]) == deployment["spec"]["flinkConfiguration"]["metrics.reporter.prom.port"]


def test_the_dashboard_charts_metrics_the_job_registers() -> None:
    dashboard = json.loads((CLUSTER / "grafana-dashboard.json").read_text())
    expressions = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("throughput", "lag", "dead letters", "model", "drift"):
        assert topic in titles
    sources = [ROOT / "streaming/scorer.py", ROOT / "streaming/drift_records.py"]
    code = " ".join(p.read_text() for p in [*sources, *(ROOT / "deploy/jvm/flink-udf").rglob("*.java")])
    for metric in re.findall(
        r"streamscore_(scored|model_registry_version|model_swaps|model_swap_failures)", expressions
    ):
        assert f'"{metric}"' in code, metric
    assert "dead_letters" in code and "psi_millionths" in code


@pytest.mark.parametrize("script", ["spark-submit-yarn.sh", "spark-submit-k8s.sh"])
def test_spark_submit_examples_are_valid_shell_and_pass_train_flags_it_accepts(script: str) -> None:
    path = CLUSTER / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    words = shlex.split(path.read_text().split("spark-submit", 1)[1].replace("\\\n", " "))
    train_at = next(i for i, w in enumerate(words) if w.endswith("batch/train.py"))
    batch_parser(None).parse_args(words[train_at + 1 :])


def test_weekly_retraining_trains_then_promotes_only_if_better() -> None:
    entry = next(line for line in (CLUSTER / "retrain.cron").read_text().splitlines() if line[:1].isdigit())
    fields = entry.split(maxsplit=5)
    assert fields[:5] == ["0", "3", "*", "*", "1"]
    train, promote = fields[5].index("streamscore train"), fields[5].index("streamscore promote")
    assert train < promote and "&&" in fields[5][train:promote] and "--force" not in fields[5]
    for command in ("train", "promote"):
        assert CliRunner().invoke(app, [command, "--help"]).exit_code == 0
