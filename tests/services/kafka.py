"""A real Apache Kafka broker: KRaft, one node acting as broker and controller.

The broker runs from the Apache Kafka jars on Maven Central (``kafka_2.13`` and its
runtime dependencies), which Maven fetches once into a cache
(``$DUCKPIPE_CACHE_DIR`` or ``~/.cache/duckpipe``)/``kafka-<version>/lib``. Settings
are those of a single node: replication factor 1 for the internal topics, no
rebalance delay, topics created on first use. Transactions and ``read_committed``
behave exactly as in any Kafka cluster.

    with KafkaService.launch() as kafka:
        print(kafka.bootstrap)   # 127.0.0.1:PORT
"""

from __future__ import annotations

import base64
import fcntl
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from tests.services.process import (
    ManagedProcess,
    ServiceError,
    apt_install,
    free_port,
    port_open,
    run_checked,
)
from tests.services.service import Service

KAFKA_VERSION = os.environ.get("DUCKPIPE_KAFKA_VERSION", "4.4.0")
# Kafka logs through slf4j 1.x; this binds it to the log4j2 that Kafka already ships.
LOG_BINDING = "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
JVM_OPTIONS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]
BROKER_SETTINGS = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "num.partitions": "1",
    "auto.create.topics.enable": "true",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    # After a kill the restarted node waits out its old session before it is unfenced.
    "broker.session.timeout.ms": "2000",
    "broker.heartbeat.interval.ms": "500",
}
LOG4J_CONFIG = """\
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.server.name = kafka.server
logger.server.level = INFO
logger.kafka.name = kafka.Kafka$
logger.kafka.level = INFO
"""
POM = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>duckpipe.tests</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>{dependencies}
  </dependencies>
</project>
"""


def cache_root() -> Path:
    configured = os.environ.get("DUCKPIPE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "duckpipe"


def kafka_lib(version: str = KAFKA_VERSION) -> Path:
    return cache_root() / f"kafka-{version}" / "lib"


def _pom(version: str) -> str:
    coordinates = [f"org.apache.kafka:kafka_2.13:{version}", LOG_BINDING]
    entries = []
    for coordinate in coordinates:
        group, artifact, ver = coordinate.split(":")
        entries.append(
            f"\n    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{ver}</version></dependency>"
        )
    return POM.format(dependencies="".join(entries))


def install_kafka(version: str = KAFKA_VERSION) -> Path:
    """Fetch the broker's jars with Maven once; later calls return the cached folder."""
    lib = kafka_lib(version)
    if (lib / ".complete").exists():
        return lib
    for tool, package in (("java", "openjdk-17-jre-headless"), ("mvn", "maven")):
        if shutil.which(tool) is None:
            apt_install(package)
    lib.parent.mkdir(parents=True, exist_ok=True)
    with (lib.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same jars
        if (lib / ".complete").exists():
            return lib
        with tempfile.TemporaryDirectory(dir=lib.parent) as work:
            pom = Path(work) / "pom.xml"
            pom.write_text(_pom(version))
            staged = Path(work) / "lib"
            run_checked(
                [
                    "mvn",
                    "--batch-mode",
                    "--quiet",
                    "--file",
                    str(pom),
                    f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={staged}",
                ],
                f"fetching Apache Kafka {version} with Maven",
            )
            jars = sorted(p.name for p in staged.glob("*.jar"))
            if f"kafka_2.13-{version}.jar" not in jars:
                raise ServiceError(f"Maven finished but kafka_2.13-{version}.jar is missing")
            (staged / ".complete").write_text("\n".join(jars) + "\n")
            shutil.rmtree(lib, ignore_errors=True)
            staged.rename(lib)
    return lib


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaService(Service):
    """A running single-node Kafka cluster; clients connect to ``bootstrap``."""

    kind: ClassVar[str] = "kafka"
    controller_port: int = field(default_factory=free_port)
    version: str = KAFKA_VERSION
    start_timeout: float = 90.0

    def __post_init__(self) -> None:
        super().__post_init__()
        while self.controller_port == self.port:
            self.controller_port = free_port(self.host)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.root / "data"

    def _setup(self) -> None:
        lib = kafka_lib(self.version)
        if not (lib / ".complete").exists():
            lib = install_kafka(self.version)
        settings = {
            **BROKER_SETTINGS,
            "listeners": f"PLAINTEXT://{self.host}:{self.port},"
            f"CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "log.dirs": str(self.log_dir),
        }
        properties = self.root / "server.properties"
        properties.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        log4j = self.root / "log4j2.properties"
        log4j.write_text(LOG4J_CONFIG)
        java = [
            "java",
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{lib}/*",
        ]
        run_checked(
            [
                *java,
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={_cluster_id()}",
                f"--config={properties}",
            ],
            "formatting Kafka storage",
        )
        self._process = ManagedProcess(
            "kafka", [*java, "kafka.Kafka", str(properties)], self.root / "kafka.log"
        )

    def _is_ready(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=self.bootstrap, request_timeout_ms=3000, client_id="duckpipe-ready"
        )
        try:
            admin.list_topics()
            return bool(admin.describe_cluster()["brokers"])
        finally:
            admin.close()
