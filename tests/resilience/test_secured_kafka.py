"""Kafka over SASL_SSL (SCRAM-SHA-512, the broker's certificate verified against the stack's CA) for
every component, each run as its operator runs it, with secrets only in the environment and files:
the producer CLI, the Spark batch job publishing profiles, the Flink scoring job. Right credentials
work; a wrong password fails with one clear line; the password shows up in no output and no log."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flink_jobs import accounting
from streaming_fixtures import ScoringRun

from streamscore.deploy.kafka_security import FLINK_SHADED, KafkaSecurity, KafkaSecurityError
from streamscore.shared.spec import dump_pipeline, load_pipeline, with_topic_suffix

CLI = [str(Path(sys.executable).parent / "streamscore")]  # the installed command, as an operator runs it


def test_settings_come_from_the_environment_and_never_carry_the_password(tmp_path: Path) -> None:
    with pytest.raises(KafkaSecurityError, match="SASL_SSL needs STREAMSCORE_KAFKA_USERNAME"):
        KafkaSecurity.from_env({"STREAMSCORE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    with pytest.raises(KafkaSecurityError, match=r"PROTOCOL is 'TLS'; valid: \['PLAINTEXT'"):
        KafkaSecurity.from_env({"STREAMSCORE_KAFKA_SECURITY_PROTOCOL": "tls"})
    with pytest.raises(KafkaSecurityError, match=r"PASSWORD_FILE is .*not a readable file"):
        KafkaSecurity.from_env(
            {
                "STREAMSCORE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "STREAMSCORE_KAFKA_USERNAME": "u",
                "STREAMSCORE_KAFKA_PASSWORD_FILE": str(tmp_path / "missing"),
            }
        )
    secret = tmp_path / "password"
    secret.write_text("s3cret-value\n")
    security = KafkaSecurity.from_env(
        {
            "STREAMSCORE_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "STREAMSCORE_KAFKA_USERNAME": "u",
            "STREAMSCORE_KAFKA_PASSWORD_FILE": str(secret),
        }
    )
    assert security.python_options()["sasl_plain_password"] == "s3cret-value"
    assert security.librdkafka_options() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "u",
        "sasl.password": "s3cret-value",
    }
    flink = security.java_properties(FLINK_SHADED)
    assert "s3cret" not in repr(security) + repr(flink) + security.describe()
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    assert flink["sasl.jaas.config"].startswith(f'{FLINK_SHADED}{scram} required username="u"')
    assert f'password="${{dir:{tmp_path}:password}}"' in flink["sasl.jaas.config"]
    assert flink["config.providers.dir.class"].startswith(FLINK_SHADED)


@pytest.mark.stack
def test_producer_batch_and_streaming_jobs_work_over_sasl_ssl_and_wrong_credentials_fail_clearly(
    flink_stack: Any, scoring: ScoringRun, tmp_path: Path
) -> None:
    from streamscore.deploy.kafka_io import RegistryClient, consume_all, read_decoded
    from streamscore.streaming.submit import flink_run

    spec = with_topic_suffix(scoring.spec, uuid.uuid4().hex[:8])
    spec_file = dump_pipeline(spec, tmp_path / "pipeline.yaml")
    spec = load_pipeline(spec_file)
    secured = {**flink_stack.secure_client_env(), "STREAMSCORE_KAFKA_BOOTSTRAP": flink_stack.secure_bootstrap_servers}
    password = Path(secured["STREAMSCORE_KAFKA_PASSWORD_FILE"]).read_text().strip()
    env = {**os.environ, "STREAMSCORE_HOME": str(flink_stack.home), **secured}

    def cli(*args: str, environment: dict[str, str] = env) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=environment, timeout=600)
        assert password not in result.stdout + result.stderr
        return result

    history = str(scoring.spec_file.parent / "history")
    published = cli(
        "profiles", "-p", str(spec_file), "--history", history, "--workdir", str(tmp_path / "work"),
        "--publish", "--as-of-ms", str(scoring.as_of_ms),
    )  # fmt: skip
    assert published.returncode == 0, published.stderr[-2000:]
    start = dt.datetime.fromtimestamp(scoring.as_of_ms / 1000, dt.UTC).isoformat()
    produced = cli(
        "generate", "-p", str(spec_file), "--events", "3000", "--seed", "31", "--start", start, "--days", "0.5",
        "--to-kafka", "--malformed-rate", "0.02",
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr[-2000:]

    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password")
    refused = cli(
        "generate", "-p", str(spec_file), "--events", "10", "--to-kafka",
        environment={**env, "STREAMSCORE_KAFKA_PASSWORD_FILE": str(wrong)},
    )  # fmt: skip
    assert refused.returncode == 1
    error = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "Authentication failed" in error[0] and "SCRAM-SHA-512" in error[0], refused.stderr

    run = flink_run(
        flink_stack,
        spec_file,
        scoring.workdir,
        group_id=f"sasl-{uuid.uuid4().hex[:8]}",
        bounded=True,
        timeout_s=600,
        bootstrap=flink_stack.secure_bootstrap_servers,
        kafka_env=secured,
    )
    assert password not in run.output
    plain = KafkaSecurity()  # read back through the plaintext listener of the same broker
    events = consume_all(flink_stack.local_bootstrap_servers, spec.topics.events, security=plain)
    profiles = consume_all(flink_stack.local_bootstrap_servers, spec.topics.profiles, security=plain)
    registry = RegistryClient(flink_stack.registry_url)
    scored = read_decoded(flink_stack.local_bootstrap_servers, registry, spec.topics.scored)
    dead = read_decoded(flink_stack.local_bootstrap_servers, registry, spec.topics.dead_letters)
    print(f"\nover SASL_SSL: {len(profiles)} profiles published by Spark; job {accounting(len(events), scored, dead)}")
    assert len(events) >= 3_000 and len(profiles) > 0
    assert len(scored) + len(dead) == len(events) and len(scored) > 0.9 * len(events)
    logs = [p for p in (flink_stack.home / "logs").glob("*") if p.is_file()]
    assert logs and not [p.name for p in logs if password in p.read_text(errors="replace")]
