"""The resilience tests run on the stack's cluster mode: three brokers (replication 3, min ISR 2) and
two TaskManagers, so a killed broker or TaskManager leaves a cluster that can carry on."""

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """Overrides tests/conftest.py's single-broker stack; stopped at the end only if this run started it."""
    from streamscore.deploy import stack as local_stack

    config = local_stack.StackConfig.from_env().cluster()
    already = all(s.pid() is not None for s in local_stack.services(config, flink=False))
    local_stack.up(config, flink=False)
    yield config
    if not already:
        local_stack.down(config)
