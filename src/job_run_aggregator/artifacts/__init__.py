"""Artifacts: the bucket (local folder or GCS), pure parsers per file kind, and the one run reader."""
