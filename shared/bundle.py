"""The model bundle: a directory holding `model.onnx`, `baseline.json` and `manifest.json`.

The manifest lists the sha256 of every other file. Training writes it; the registry's promotion
and the streaming job verify it before a model is used, so a bundle altered after validation
(by accident or on purpose) never scores an event.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

from streamscore.shared.errors import BundleError

MODEL_FILE = "model.onnx"
BASELINE_FILE = "baseline.json"
MANIFEST_FILE = "manifest.json"
BUNDLE_FILES = (MODEL_FILE, BASELINE_FILE)
INPUT_NAME = "features"
"""The ONNX input: float32 [batch, len(feature_order)]."""
OUTPUT_NAME = "score"
"""The ONNX output: float32 [batch], the probability of the positive class."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(directory: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Add `files` (name -> sha256 of every bundle file) to `manifest` and write it; returns what was written."""
    missing = [name for name in BUNDLE_FILES if not (directory / name).is_file()]
    if missing:
        raise BundleError(f"bundle {directory} lacks {missing}; a bundle needs {list(BUNDLE_FILES)}")
    complete = {**manifest, "files": {name: sha256_file(directory / name) for name in BUNDLE_FILES}}
    (directory / MANIFEST_FILE).write_text(json.dumps(complete, indent=2, sort_keys=True) + "\n")
    return complete


def read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST_FILE).read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"{directory} is not a model bundle: no {MANIFEST_FILE}") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(f"{directory / MANIFEST_FILE} is not valid JSON: {exc}") from exc
    return manifest


def verify_bundle(directory: Path) -> dict[str, Any]:
    """The manifest, after checking every listed file against its sha256.

    Raises:
        BundleError: naming the file whose content differs, or that is missing.
    """
    manifest = read_manifest(directory)
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(BUNDLE_FILES):
        raise BundleError(f"{directory / MANIFEST_FILE}: `files` must list {list(BUNDLE_FILES)}, got {files!r}")
    for name, expected in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            raise BundleError(f"bundle {directory}: {name} is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(f"bundle {directory}: {name} has sha256 {actual[:12]}…, manifest says {expected[:12]}…")
    return manifest
