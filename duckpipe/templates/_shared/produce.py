"""Send the events of NDJSON files to a Kafka topic, one message per line.

    python scripts/produce.py data/events.ndjson --topic clicks

The topic is created with --partitions partitions if it does not exist. Each event
goes to the partition of its user (u07 -> 7 % partitions), keyed by the user, so the
events of one user stay in order. Needs only kafka-python (installed with duckpipe).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--partitions", type=int, default=2)
    args = parser.parse_args()

    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    try:
        admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    except KafkaError:  # nothing answered the bootstrap
        raise SystemExit(
            f"no Kafka broker answers at {args.bootstrap}: start one, or point "
            "KAFKA_BOOTSTRAP (or --bootstrap) at yours"
        ) from None
    try:
        admin.create_topics([NewTopic(args.topic, args.partitions, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all")
    sent = 0
    for path in args.files:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            user = json.loads(line)["user_id"]
            partition = int(user.lstrip("u")) % args.partitions
            producer.send(args.topic, value=line.encode(), key=user.encode(), partition=partition)
            sent += 1
    producer.flush()
    producer.close()
    print(f"sent {sent} events to {args.topic} on {args.bootstrap}")


if __name__ == "__main__":
    main()
