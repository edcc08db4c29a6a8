"""Progress of a dbt build, from dbt's own events (``dbtRunner(callbacks=[...])``).

On a terminal it is one live line on stderr (a bar, the nodes done and the node running);
elsewhere (a log, CI) plain lines on stdout, beside the command's other output: one per
finished node, ``[37/83] model stg_events  12.4 s``, and while a node runs longer (or the
project is being read), a line at least every ``heartbeat`` seconds (4: checked every 0.5 s,
so lines are never more than 5 s apart) saying what is going on.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from sbdk._signals import interrupted


class DbtProgress:
    """A callback for dbtRunner that reports nodes as they run and finish."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None, heartbeat: float = 4.0) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self.stream = stream or (sys.stderr if self.live else sys.stdout)
        self.heartbeat = heartbeat
        self.total = 0
        self.done = 0
        self.running: dict[str, tuple[str, float]] = {}  # unique_id -> (label, start)
        self.started = time.monotonic()
        self._last_output = self.started
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="sbdk-progress", daemon=True)

    # -- dbt callback

    def __call__(self, event: Any) -> None:
        if interrupted():
            return  # after a Ctrl-C dbt cancels the nodes running: not errors to report
        name = event.info.name
        if name == "LogStartLine" and not self.total:
            self.total = int(getattr(event.data, "total", 0) or 0)
        elif name == "NodeStart":
            info = event.data.node_info
            with self._lock:
                self.running[info.unique_id] = (self._label(info), time.monotonic())
        elif name == "NodeFinished":
            info = event.data.node_info
            with self._lock:
                label, start = self.running.pop(info.unique_id, (self._label(info), time.monotonic()))
                self.done += 1
                status = (info.node_status or "").lower()
                line = f"[{self.done}/{self.total or '?'}] {label}  {time.monotonic() - start:.1f} s"
                if status and status not in ("success", "pass"):
                    line += f"  {status}"
                self._emit(line)

    @staticmethod
    def _label(info: Any) -> str:
        kind = (info.resource_type or "node").lower()
        return f"{kind} {info.node_name}"

    # -- output

    def _emit(self, line: str) -> None:
        if self.live:
            self._render()
        else:
            print(line, file=self.stream, flush=True)
        self._last_output = time.monotonic()

    def _render(self) -> None:
        width = 24
        filled = int(width * self.done / self.total) if self.total else 0
        current = ", ".join(label for label, _ in list(self.running.values())[:2])
        elapsed = time.monotonic() - self.started
        text = f"\rdbt build [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total or '?'} " \
               f"{elapsed:5.0f} s  {current}"
        print(f"{text[:120]:<120}", end="", file=self.stream, flush=True)

    def _tick(self) -> None:
        while not self._stop.wait(1.0 if self.live else 0.5):
            with self._lock:
                if self.live:
                    self._render()
                elif time.monotonic() - self._last_output >= self.heartbeat:
                    now = time.monotonic()
                    if self.running:
                        label, start = min(self.running.values(), key=lambda item: item[1])
                        doing = f"running {label}  {now - start:.0f} s"
                    else:
                        doing = f"{'reading the project' if not self.done else 'between nodes'}  " \
                                f"{now - self.started:.0f} s"
                    self._emit(f"[{self.done}/{self.total or '?'}] {doing}")

    def __enter__(self) -> DbtProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.live:
            print(file=self.stream, flush=True)
