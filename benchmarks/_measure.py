"""Measuring helpers shared by the benchmark scripts."""

from __future__ import annotations

import threading

import psutil


class TreeMemory:
    """Peak RSS of a process and all its descendants (plus extra pids), polled every 0.2 s."""

    def __init__(self, pid: int, extra: list[int] | None = None) -> None:
        self.pid, self.extra, self.peak = pid, extra or [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _poll(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in [p for pid in (self.pid, *self.extra) for p in self._tree(pid)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def stop(self) -> int:
        """Stop polling; the peak in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak
