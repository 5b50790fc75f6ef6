"""The local stack is real: Avro goes through a real broker in the registry's wire format."""

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from streamscore.deploy import stack as local_stack
from streamscore.deploy.hostile import KINDS, EventFields
from streamscore.deploy.kafka_io import (
    HEADER,
    RegistryClient,
    WireFormatError,
    consume_all,
    decode,
    ensure_topics,
    produce_table,
)
from streamscore.shared.synthetic import GeneratorConfig, get_generator

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def events(payments_spec: Any) -> pa.Table:
    table = get_generator("payments")(
        GeneratorConfig(
            events=2_000, seed=11, start_ms=1_767_225_600_000, days=1.0, entities=200, merchants=50, positive_rate=0.015
        )
    )
    return table


def test_up_is_idempotent(stack: local_stack.StackConfig) -> None:
    before = {s.name: s.pid() for s in local_stack.services(stack, flink=False)}
    local_stack.up(stack, flink=False)
    after = {s.name: s.pid() for s in local_stack.services(stack, flink=False)}
    assert before == after and all(after.values())


def test_avro_round_trip_in_wire_format_counts_every_record(
    stack: local_stack.StackConfig, payments_spec: Any, events: pa.Table
) -> None:
    topic = f"test.events.{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.bootstrap_servers, [topic], partitions=2)
    registry = RegistryClient(stack.registry_url)
    report = produce_table(
        events,
        bootstrap=stack.bootstrap_servers,
        registry=registry,
        topic=topic,
        schema=payments_spec.event_schema(),
        key_field="card_id",
        time_field="event_time",
        malformed_rate=0.05,
        seed=1,
        hostile=EventFields.of(payments_spec),
    )
    assert set(report.malformed) == set(KINDS)
    duplicates = report.malformed["duplicate"]
    assert report.total == events.num_rows + duplicates  # a duplicate is a second send of a valid record

    messages = consume_all(stack.bootstrap_servers, topic)
    assert len(messages) == report.total  # nothing lost, nothing duplicated by Kafka

    schema_id = registry.register(f"{topic}-value", payments_spec.event_schema())  # same schema, same id
    source = {row["event_id"]: row for row in events.to_pylist()}
    decoded, undecodable, foreign = {}, 0, 0
    for message in messages:
        try:
            record = decode(registry, message.value)
        except (WireFormatError, Exception) as exc:  # the registry answers 404 for the unknown id
            assert isinstance(exc, WireFormatError) or "404" in str(exc)
            undecodable += 1
            continue
        if HEADER.unpack_from(message.value) != (0, schema_id):
            foreign += 1  # written with the wrong-type schema: decodes as itself, never as the event schema
            continue
        assert message.key == record["card_id"].encode()
        decoded[record["event_id"]] = record
    m = report.malformed
    assert undecodable == m["garbage"] + m["truncated"] + m["unknown_schema_id"]
    assert foreign == m["wrong_type"]
    decodable = m["out_of_range"] + m["non_finite"] + m["time_past"] + m["time_future"] + m["huge_string"]
    assert len(decoded) == report.valid + decodable  # by id: a duplicate and its original are one entry
    sample = next(i for i, r in decoded.items() if r["amount"] == r["amount"] and r["amount"] >= 0)
    expected = source[sample]
    assert decoded[sample]["amount"] == expected["amount"]
    assert decoded[sample]["event_time"].timestamp() == expected["event_time"].timestamp()


def test_registry_serves_the_confluent_api(stack: local_stack.StackConfig, payments_spec: Any) -> None:
    registry = RegistryClient(stack.registry_url)
    subject = f"test-{uuid.uuid4().hex[:8]}-value"
    schema_id = registry.register(subject, payments_spec.event_schema())
    assert subject in registry.subjects()
    fresh = RegistryClient(stack.registry_url)  # no cache: fetched by id from the server
    assert fresh.schema(schema_id)["name"].endswith("PaymentEvent")


def test_cli_error_is_one_clear_line(tmp_path: Any) -> None:
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("name: Payments\n")
    result = subprocess.run(
        [sys.executable, "-m", "streamscore.deploy", "generate", "-p", str(bad), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {bad}: name: String should match pattern")


def test_flink_cluster_starts_with_its_slots_and_stops_by_pid(stack: local_stack.StackConfig) -> None:
    import requests

    flink = [s for s in local_stack.services(stack, flink=True) if s.name.startswith("flink")]
    already = all(s.pid() is not None for s in flink)
    local_stack.up(stack, flink=True)
    overview = requests.get(f"{stack.flink_rest_url}/overview", timeout=5).json()
    assert overview["taskmanagers"] == 1 and overview["slots-total"] == stack.flink_slots
    pids = [s.pid() for s in flink]
    assert all(pids)
    if not already:
        for service in reversed(flink):
            assert service.stop()
        assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in pids)


def _zombie(pid: int | None) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")


def test_prometheus_reporter_is_configured_only_when_the_spec_asks(tmp_path: Path) -> None:
    import yaml

    from streamscore.deploy.flink_cluster import FlinkJobManager

    jars = local_stack.StackConfig.from_env().jars
    for port in (None, 19249):
        home = tmp_path / str(port)
        home.mkdir()
        (home / "jars").symlink_to(jars, target_is_directory=True)
        manager = FlinkJobManager(local_stack.StackConfig(home=home, flink_prometheus_port=port))
        manager.prepare()
        config = yaml.safe_load((manager.conf_dir / "config.yaml").read_text())
        plugins = list((home / "flink" / "plugins").glob("*/flink-metrics-prometheus-*.jar"))
        if port is None:
            assert not any(k.startswith("metrics.reporter") for k in config) and not plugins
        else:
            assert config["metrics.reporter.prom.port"] == "19249-19258"
            assert config["metrics.reporter.prom.factory.class"].endswith("PrometheusReporterFactory")
            assert len(plugins) == 1 and plugins[0].resolve().is_file()
