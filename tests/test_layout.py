"""The folder tree is the architecture: the shared library stays engine-free, and the installed
distribution exposes only the streamscore.* namespace."""

import ast
import importlib.util
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


def test_only_the_streamscore_namespace_is_installed() -> None:
    for plain in ("shared", "batch", "streaming", "deploy"):
        assert importlib.util.find_spec(plain) is None, f"a top-level package {plain!r} is importable"
    assert importlib.util.find_spec("streamscore.shared.features.sql") is not None
