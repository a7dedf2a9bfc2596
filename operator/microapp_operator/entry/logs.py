"""Logging setup: human-readable by default, one JSON object per line with --log-format json."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Log calls pass the object as extra={"namespace": ..., "app": ...}: "name" is taken by the
# LogRecord itself (the logger's name); the JSON line calls it "name" again.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        ref = getattr(record, "k8s_ref", None)  # Kopf's per-object loggers
        if isinstance(ref, dict):
            entry.update({"namespace": ref.get("namespace"), "name": ref.get("name")})
        for key, value in vars(record).items():
            if (
                key not in _STANDARD
                and not key.startswith(("_", "k8s_"))
                and key != "settings"
                and isinstance(value, (str, int, float, bool))
            ):
                entry["name" if key == "app" else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def use_json() -> None:
    """Switch every handler Kopf configured to JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
