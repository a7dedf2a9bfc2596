"""Memory on demand: ``kill -USR2 <operator pid>`` logs where the operator's memory is.

Logs the RSS, the garbage collector's counts and what a full collection frees, and, when the
operator was started with ``MICROAPP_TRACEMALLOC=<frames>`` (tracemalloc: slower, more
memory), the 15 source lines holding the most. How the scale figures in BENCHMARKS.md were
found; nothing runs unless the signal comes.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import tracemalloc
from pathlib import Path

log = logging.getLogger(__name__)


def install() -> None:
    frames = os.environ.get("MICROAPP_TRACEMALLOC", "")
    if frames.isdigit() and int(frames) > 0:
        tracemalloc.start(int(frames))
    signal.signal(signal.SIGUSR2, lambda signum, frame: report())


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def report() -> None:
    before, counts = rss_mb(), gc.get_count()
    freed = gc.collect()
    log.warning(
        "memory rss_mb=%.1f gc_counts=%s full_collection_freed=%d rss_after_mb=%.1f tracked=%d",
        before,
        counts,
        freed,
        rss_mb(),
        len(gc.get_objects()),
    )
    if tracemalloc.is_tracing():
        current, peak = tracemalloc.get_traced_memory()
        log.warning("memory traced_mb=%.1f traced_peak_mb=%.1f", current / 1e6, peak / 1e6)
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
            log.warning("memory %.1f MB in %d blocks at %s", stat.size / 1e6, stat.count, stat.traceback)
