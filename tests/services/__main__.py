"""Run one test service from a shell, or install what the services need.

    python -m tests.services postgres    # prints its URI and runs until Ctrl-C / SIGTERM
    python -m tests.services kafka       # prints the bootstrap address
    python -m tests.services s3          # prints the endpoint and client settings
    python -m tests.services install     # PostgreSQL binaries (apt) + Kafka jars (Maven), once

Run it from the repository root. The address lines are ``KEY=value`` so scripts can
read them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from tests.services.kafka import KAFKA_VERSION, KafkaService, install_kafka
from tests.services.postgres import PostgresService, install_postgres
from tests.services.process import ServiceError
from tests.services.s3 import S3Service
from tests.services.service import Service


def _address_lines(service: Service) -> dict[str, str]:
    if isinstance(service, PostgresService):
        return {"POSTGRES_URI": service.uri}
    if isinstance(service, KafkaService):
        return {"KAFKA_BOOTSTRAP": service.bootstrap, "KAFKA_VERSION": service.version}
    if isinstance(service, S3Service):
        return {
            "S3_ENDPOINT_URL": service.endpoint_url,
            "S3_BUCKET": service.make_bucket("duckpipe"),
            **service.env(),
            "DELTA_STORAGE_OPTIONS": json.dumps(service.delta_storage_options()),
            "ICEBERG_PROPERTIES": json.dumps(service.iceberg_properties()),
        }
    raise TypeError(service)


def install() -> None:
    started = time.monotonic()
    print(f"PostgreSQL binaries: {install_postgres()}", flush=True)
    print(f"Apache Kafka {KAFKA_VERSION} jars: {install_kafka()}", flush=True)
    from tests.advisor.browser import chromium_binary

    print(f"Chromium (HTML report tests): {chromium_binary()}", flush=True)
    print(f"installed in {time.monotonic() - started:.1f} s", flush=True)


def serve(kind: str, port: int | None) -> int:
    options: dict[str, Any] = {"port": port} if port else {}
    factory: type[Service] = {"postgres": PostgresService, "kafka": KafkaService, "s3": S3Service}[
        kind
    ]
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    started = time.monotonic()
    with factory.launch(**options) as service:
        print(f"{kind} ready in {time.monotonic() - started:.2f} s; log {service.log_path}")
        for key, value in _address_lines(service).items():
            print(f"{key}={value}")
        print("Ctrl-C stops it.", flush=True)
        while not stopping:
            if not service.running:
                print(f"{kind} exited unexpectedly; see {service.log_path}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        print(f"stopping {kind}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.services", description=__doc__)
    parser.add_argument("what", choices=["postgres", "kafka", "s3", "install"])
    parser.add_argument("--port", type=int, help="listen on this port instead of a free one")
    args = parser.parse_args(argv)
    try:
        if args.what == "install":
            install()
            return 0
        return serve(args.what, args.port)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
