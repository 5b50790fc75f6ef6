"""The drift report from a real drift run: the CLI writes the page, headless Chromium renders it,
and the screenshot shows the charts (not a blank or broken page)."""

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from drift_fixtures import SHIFT_AT, STREAM_END, STREAM_START, DriftRun
from matplotlib.image import imread
from typer.testing import CliRunner

from streamscore.deploy.cli import app

pytestmark = pytest.mark.stack

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.fixture(scope="module")
def page(drifting: DriftRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "drift.html"
    result = CliRunner().invoke(
        app,
        [
            "drift-report",
            *("-p", str(drifting.spec_file), "--workdir", str(drifting.workdir), "--out", str(out)),
            *("--since", iso(STREAM_START), "--until", iso(STREAM_END + 3_600_000)),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_the_page_has_four_charts_and_the_alerts(page: Path, drifting: DriftRun) -> None:
    text = page.read_text()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}">', text)) == 4
    assert f"{len(drifting.drift)} drift records, {len(drifting.alerts)} alerts" in text
    assert text.count("<tr><td>log_amount</td>") == sum(a["feature"] == "log_amount" for a in drifting.alerts) > 0


def test_a_window_before_the_shift_only_shows_no_alerts(drifting: DriftRun, tmp_path: Path) -> None:
    out = tmp_path / "calm.html"
    args = ["drift-report", "-p", str(drifting.spec_file), "--workdir", str(drifting.workdir), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--since", iso(STREAM_START), "--until", iso(SHIFT_AT)])
    assert result.exit_code == 0, result.output
    assert ", 0 alerts" in result.output and "<tr><td>" not in out.read_text()


def test_headless_chromium_renders_the_charts(page: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: `make setup` installs Debian's chromium package"
    shot = page.with_suffix(".png")
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={page.parent / 'chromium-profile'}",
            f"--screenshot={shot}",
            "--window-size=1400,2600",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = imread(shot)
    assert image.shape[:2] == (2600, 1400)
    ink = (image[..., :3] < 0.9).any(axis=2)  # anything not (nearly) white
    assert 0.05 < ink.mean() < 0.9, f"{ink.mean():.1%} of the screenshot is drawn"
    colourful = (image[..., :3].max(axis=2) - image[..., :3].min(axis=2)) > 0.3
    assert colourful.mean() > 0.01, "no coloured chart pixels: charts missing"
