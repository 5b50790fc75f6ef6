"""Synthetic event generators, looked up by the name in the spec's `synthetic.generator`."""

from streamscore.shared.synthetic import payments as _payments  # noqa: F401  (registers "payments")
from streamscore.shared.synthetic.base import DriftInjection, GeneratorConfig, generator_for, get_generator

__all__ = ["DriftInjection", "GeneratorConfig", "generator_for", "get_generator"]
