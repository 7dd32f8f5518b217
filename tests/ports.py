"""A free TCP port on 127.0.0.1 for something Docker publishes later."""

from __future__ import annotations

import random
import socket

# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for port 0
# can be taken by any outgoing connection before Docker gets to publish it.
PORT_RANGE = (20000, 32000)


def free_port() -> int:
    for _ in range(200):
        port = random.randint(*PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {PORT_RANGE}")
