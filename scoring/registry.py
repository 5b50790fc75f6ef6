"""The model registry: MLflow's, with a sqlite store and local artifacts unless MLFLOW_TRACKING_URI says otherwise.

Each registered version is one bundle directory logged as the artifacts of an MLflow run (with
the run's parameters and metrics); the aliases `champion` (what the stream serves) and
`challenger` (the newest candidate, optionally shadow-scored) are the only pointers the jobs use.
"""

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from streamscore.shared.bundle import BASELINE_FILE, read_manifest, verify_bundle
from streamscore.shared.errors import StreamscoreError

CHAMPION = "champion"
CHALLENGER = "challenger"
BUNDLE_ARTIFACT = "bundle"


class RegistryError(StreamscoreError):
    """A version or alias that does not exist, or a registry that cannot be reached."""


@dataclass(frozen=True)
class RegisteredModel:
    version: int
    aliases: list[str]
    path: Path
    run_id: str
    created_ms: int
    tags: dict[str, str]

    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.path)


def default_tracking_uri(workdir: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(workdir / 'mlflow' / 'mlflow.db').resolve()}"


class ModelRegistry:
    """The registered versions of one pipeline's model (registered model name = pipeline name)."""

    def __init__(self, name: str, workdir: Path) -> None:
        import mlflow
        from mlflow import MlflowClient

        self.name = name
        self.workdir = workdir
        uri = default_tracking_uri(workdir)
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # Only the client, never mlflow.set_tracking_uri: that also sets MLFLOW_TRACKING_URI for the whole
        # process, and every later registry (another workdir) would silently open this one.
        self.uri = uri
        self._mlflow = mlflow
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def _experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(self.name)
        if experiment is not None:
            return str(experiment.experiment_id)
        artifacts = (self.workdir / "mlflow" / "artifacts").resolve()
        return str(self.client.create_experiment(self.name, artifact_location=artifacts.as_uri()))

    def register(
        self, bundle: Path, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> RegisteredModel:
        """Log `bundle` as a run's artifacts with params and metrics, register it and make it `challenger`."""
        from mlflow.exceptions import MlflowException

        run = self.client.create_run(self._experiment_id(), run_name=tags.get("model_version"), tags=tags)
        for key, value in params.items():
            self.client.log_param(run.info.run_id, key, value)
        for key, number in metrics.items():
            self.client.log_metric(run.info.run_id, key, number)
        self.client.log_artifacts(run.info.run_id, str(bundle), artifact_path=BUNDLE_ARTIFACT)
        self.client.set_terminated(run.info.run_id)
        source = f"{run.info.artifact_uri}/{BUNDLE_ARTIFACT}"
        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            self.client.create_registered_model(self.name, description=f"streamscore pipeline {self.name}")
        version = self.client.create_model_version(self.name, source, run_id=run.info.run_id, tags=tags)
        self.client.set_registered_model_alias(self.name, CHALLENGER, version.version)
        return self.get(str(version.version))

    def versions(self) -> list[RegisteredModel]:
        found = self.client.search_model_versions(f"name = '{self.name}'")
        return sorted((self._describe(v) for v in found), key=lambda m: m.version)

    def get(self, reference: str) -> RegisteredModel:
        """A version by number or alias (`champion`, `challenger`)."""
        from mlflow.exceptions import MlflowException

        try:
            if reference.isdigit():
                found = self.client.get_model_version(self.name, reference)
            else:
                found = self.client.get_model_version_by_alias(self.name, reference)
        except MlflowException as exc:
            known = [f"{m.version} {m.aliases}" for m in self.versions()] if self._exists() else []
            raise RegistryError(
                f"model {self.name!r} has no version or alias {reference!r}; registered: {known}"
            ) from (exc)
        return self._describe(found)

    def find(self, reference: str) -> RegisteredModel | None:
        try:
            return self.get(reference)
        except RegistryError:
            return None

    def baseline(self, model_version: str) -> dict[str, Any]:
        """The verified baseline.json of the registered bundle with this `model_version` (drift records
        name the model version, not the registry's number).

        Raises:
            RegistryError: no registered bundle has that model version.
        """
        for model in self.versions():
            if model.manifest().get("model_version") == model_version:
                verify_bundle(model.path)
                baseline: dict[str, Any] = json.loads((model.path / BASELINE_FILE).read_text())
                return baseline
        raise RegistryError(f"no registered bundle of {self.name!r} has model version {model_version!r}")

    def set_alias(self, alias: str, version: int) -> None:
        self.client.set_registered_model_alias(self.name, alias, str(version))

    def tag(self, version: int, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, str(version), key, value)

    def _exists(self) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            return False
        return True

    def _describe(self, version: Any) -> RegisteredModel:
        # search_model_versions leaves aliases empty in some stores; ask the version itself
        full = self.client.get_model_version(self.name, version.version)
        return RegisteredModel(
            version=int(full.version),
            aliases=sorted(full.aliases or []),
            path=self._local(full.source, int(full.version)),
            run_id=full.run_id,
            created_ms=int(full.creation_timestamp),
            tags=dict(full.tags or {}),
        )

    def _local(self, source: str, version: int) -> Path:
        """The bundle directory on this machine; remote artifact stores are downloaded to a cache once."""
        parsed = urlparse(source)
        if parsed.scheme in ("", "file"):
            return Path(unquote(parsed.path))
        cache = self.workdir / "mlflow" / "cache" / self.name / str(version)
        if not cache.is_dir():
            staging = cache.with_name(f".{version}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            self._mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(staging), tracking_uri=self.uri)
            inner = staging / BUNDLE_ARTIFACT
            (inner if inner.is_dir() else staging).rename(cache)
        return cache
