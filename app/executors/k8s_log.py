"""Reading a runner pod's result from its log: the framed line, never anything else.

In a Job the runner writes exactly two lines to its log (runner/channel.py): the
result JSON, then an end line naming that result's length and SHA-256; the same
frame is its container's termination message. A result is accepted only when the log
*starts* with bytes matching a frame, so nothing else in the log (a flood, a stray
line, a log cut short) is ever taken for it. A log with no frame at all (a runner image
older than the frame) is judged like Docker's stdout: one valid result and nothing else. The agent stops reading at the output
cap plus a margin, as the Docker executor does with stdout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from runner.channel import END_KEY


@dataclass
class LogReader:
    """Bytes of one runner log, fed in chunks (a follow stream) or at once."""

    cap: int  # bytes; past it the run is an output_limit
    data: bytearray = field(default_factory=bytearray)

    def feed(self, chunk: bytes) -> None:
        self.data += chunk

    @property
    def exceeded(self) -> bool:
        return len(self.data) > self.cap

    def end_frame(self) -> dict | None:
        """The frame on the line after the first, once both lines are complete."""
        newline = self.data.find(b"\n")
        end = self.data.find(b"\n", newline + 1) if newline >= 0 else -1
        return parse_frame(bytes(self.data[newline + 1 : end + 1])) if end >= 0 else None

    def framed_result(self, frame: dict | None = None) -> bytes | None:
        """The result line when the log starts with bytes matching `frame` (by default
        the end line after it; or the termination message)."""
        frame = frame or self.end_frame()
        newline = self.data.find(b"\n")
        if frame is None or newline < 0:
            return None
        line = bytes(self.data[: newline + 1])
        if frame["bytes"] == len(line) and frame["sha256"] == hashlib.sha256(line).hexdigest():
            return line
        return None

    def stdout(self) -> bytes:
        """What the runner wrote, without an end line: what outcome.result_from judges."""
        lines = bytes(self.data).split(b"\n")
        kept = [ln for ln in lines if parse_frame(ln + b"\n") is None]
        return b"\n".join(kept)


def parse_frame(text: bytes | str | None) -> dict | None:
    """{'bytes': int, 'sha256': str} from an end line or termination message, else None."""
    if not text:
        return None
    text = text.strip()
    if len(text) > 512 or not text.startswith(b"{" if isinstance(text, bytes) else "{"):
        return None
    try:
        end = json.loads(text).get(END_KEY)
    except (ValueError, AttributeError):
        return None
    if not isinstance(end, dict):
        return None
    size, digest = end.get("bytes"), end.get("sha256")
    if isinstance(size, int) and isinstance(digest, str) and len(digest) == 64:
        return {"bytes": size, "sha256": digest}
    return None
