"""The container runtime's own timeline of each runner pod, from `ctr events` (benchmarks only).

The API server's timestamps (pod conditions, container `startedAt`/`finishedAt`, kubelet
events) have one-second resolution, too coarse to split a one-second run into stages.
containerd stamps its events in nanoseconds: the pod sandbox created and started, the
runner container created and started, the runner's exit. This reader follows the
project's test cluster's containerd (tools/testcluster) in the background and, for one
run, returns those moments in milliseconds since the run began.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

# "2026-11-30 10:11:33.3982717 +0000 UTC k8s.io /tasks/start {...}"
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? \+0000 UTC (\S+) (\S+) (\{.*\})$")


def _wall(date: str, fraction: str | None) -> float:
    base = datetime.strptime(date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return base.timestamp() + float(f"0.{fraction or 0}")


@dataclass
class Event:
    wall: float
    topic: str
    body: dict


@dataclass
class RuntimeEvents:
    """Every containerd event of namespace k8s.io since start(), kept in memory."""

    socket: str
    events: list[Event] = field(default_factory=list)
    _proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(["ctr", "--address", self.socket, "events"], text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc and self._proc.stdout
        for line in self._proc.stdout:
            m = LINE.match(line.strip())
            if m and m.group(3) == "k8s.io":
                try:
                    body = json.loads(m.group(5))
                except ValueError:
                    continue
                self.events.append(Event(_wall(m.group(1), m.group(2)), m.group(4), body))

    def stop(self) -> None:
        if self._proc:
            self._proc.terminate()
            self._proc.wait(timeout=5)

    def timeline(self, wall_started: float, pod: str | None,
                 container_id: str | None) -> dict[str, float]:
        """sandbox_create, sandbox_start, container_create, container_start, container_exit
        of this run's pod, in ms since wall_started (the ones that were seen)."""
        events = list(self.events)
        sandbox = next((e.body.get("id") for e in events if e.topic == "/containers/update"
                        and e.body.get("labels", {}).get("io.kubernetes.pod.name") == pod
                        and e.body["labels"].get("io.cri-containerd.kind") == "sandbox"), None)
        marks: dict[str, float] = {}
        for e in events:
            cid = e.body.get("id") if e.topic == "/containers/create" else e.body.get("container_id")
            who = "sandbox" if cid and cid == sandbox else \
                "container" if cid and cid == container_id else None
            if who is None:
                continue
            step = {"/containers/create": "create", "/tasks/start": "start",
                    "/tasks/exit": "exit"}.get(e.topic)
            if step:
                marks.setdefault(f"{who}_{step}", (e.wall - wall_started) * 1000)
        return marks
