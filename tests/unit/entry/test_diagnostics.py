"""kill -USR2: the memory report (RSS, garbage collector, tracemalloc's top lines when on)."""

from __future__ import annotations

import logging
import os
import signal
import tracemalloc

import pytest

from microapp_operator.entry import diagnostics


def test_the_signal_logs_rss_the_collector_and_tracemallocs_top_lines(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICROAPP_TRACEMALLOC", "1")
    previous = signal.getsignal(signal.SIGUSR2)
    try:
        diagnostics.install()
        assert tracemalloc.is_tracing()
        kept = [bytearray(1024) for _ in range(2000)]  # 2 MB from this very line
        with caplog.at_level(logging.WARNING, logger=diagnostics.__name__):
            os.kill(os.getpid(), signal.SIGUSR2)
        lines = [r.getMessage() for r in caplog.records]
        assert lines[0].startswith("memory rss_mb=") and float(lines[0].split("rss_mb=")[1].split()[0]) > 10
        assert any(line.startswith("memory traced_mb=") for line in lines)
        assert any("test_diagnostics.py" in line and " MB in " in line for line in lines), lines
        assert len(kept) == 2000
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGUSR2, previous)


def test_without_the_variable_nothing_is_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICROAPP_TRACEMALLOC", raising=False)
    previous = signal.getsignal(signal.SIGUSR2)
    try:
        diagnostics.install()
        assert not tracemalloc.is_tracing() and signal.getsignal(signal.SIGUSR2) is not previous
    finally:
        signal.signal(signal.SIGUSR2, previous)
