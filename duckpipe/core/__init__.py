"""The floor every stage stands on; nothing here imports duckpipe outside ``core``."""
