"""One root error type, so the CLI can turn any expected failure into one clear line."""


class StreamscoreError(Exception):
    """Root of every error streamscore raises on purpose; its message says what to fix."""


class SpecError(StreamscoreError):
    """A pipeline spec that cannot be used: names the file, the key path and what was expected."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listing = "; ".join(problems)
        super().__init__(f"{path}: {listing}")


class SchemaError(StreamscoreError):
    """An Avro schema that does not hold what the spec needs."""


class BundleError(StreamscoreError):
    """A model bundle that must not be used: a file missing, altered, or not the shape the job needs."""
