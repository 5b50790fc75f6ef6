"""The arguments every batch job takes, so `spark-submit batch/<job>.py` reads the same way for each."""

import argparse
from pathlib import Path


def job_parser(doc: str | None) -> argparse.ArgumentParser:
    """--pipeline, --history and --workdir; unknown flags are errors (parse_args, never parse_known_args)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", required=True, type=Path, help="pipeline spec (YAML)")
    parser.add_argument("--history", required=True, type=Path, help="event history: Parquet file or folder")
    parser.add_argument("--workdir", type=Path, default=Path("data"), help="snapshots, bundles, profiles, registry")
    return parser
