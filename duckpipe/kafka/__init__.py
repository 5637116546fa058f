"""Apache Kafka for duckpipe: the connector both the ``kafka`` source and ``duckpipe stream`` use.

- ``backends``: the client registry (confluent-kafka, kafka-python, the in-memory twin)
  and ``open_consumer`` / ``open_producer``;
- ``client``: the consumer and transactional producer interface every backend implements;
- ``settings``: how to reach a broker and what to read, from a source's config;
- ``positions``: partitions, offsets, the stored form of a position;
- ``records``: polled records as one Arrow table;
- ``decode`` (with ``fastjson``): JSON payloads -> typed Arrow columns, rejects kept.

This package stands on ``duckpipe.core`` only.
"""
