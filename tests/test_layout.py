"""The folder tree is the architecture: the shared library stays engine-free, and the installed
distribution exposes only the streamscore.* namespace."""

import ast
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

FORBIDDEN = {
    "pyspark",
    "pyflink",
    "kafka",
    "onnxruntime",
    "onnx",
    "fastavro",
    "requests",
    "streamscore.batch",
    "streamscore.streaming",
    "streamscore.deploy",
    "streamscore.scoring",
    "streamscore.reports",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_shared_imports_no_engine_or_io_library() -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        )
        for path in (ROOT / "shared").rglob("*.py")
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_only_the_streamscore_namespace_is_installed(tmp_path: Path) -> None:
    """Asked from a folder outside the checkout, so only what is installed can answer."""
    probe = (
        "import importlib.util as u; "
        "print([n for n in ('shared', 'batch', 'streaming', 'deploy') if u.find_spec(n)], "
        "u.find_spec('streamscore.shared.features.sql') is not None)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] True"
