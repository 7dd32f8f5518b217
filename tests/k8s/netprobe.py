"""What a pod can reach: run inside a pod (python -c), it tries each target and prints one
JSON object {name: "open" | "answered" | "refused" | "timeout" | "unreachable" | error}.

Targets come as JSON in argv[1]: [[name, host, port, "tcp" | "dns"], ...]. A DNS target sends
one real query for kubernetes.default.svc.cluster.local and waits for any answer.

Every target is tried at once from the pod's first instant, and again until it answers or
WINDOW_S has passed: the first packets catch an enforcer that applies policy only after the
pod started, and the retries let an allowed target through once the pod's network is up."""

import json
import socket
import struct
import sys
import time
from concurrent.futures import ThreadPoolExecutor

WINDOW_S = 8

QUERY = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(
    bytes([len(p)]) + p.encode() for p in ["kubernetes", "default", "svc", "cluster", "local"]
) + b"\x00" + struct.pack(">HH", 1, 1)


def probe(host: str, port: int, kind: str) -> str:
    try:
        if kind == "dns":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                s.sendto(QUERY, (host, port))
                data = s.recv(512)
                return "answered" if data[:2] == QUERY[:2] else "garbage"
        with socket.create_connection((host, port), timeout=3):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return f"unreachable: {exc.strerror or exc}"


def probe_window(host: str, port: int, kind: str) -> str:
    deadline = time.monotonic() + WINDOW_S
    while True:
        outcome = probe(host, port, kind)
        if outcome in ("open", "answered") or time.monotonic() > deadline:
            return outcome
        time.sleep(0.2)


targets = json.loads(sys.argv[1])
with ThreadPoolExecutor(len(targets)) as pool:
    outcomes = pool.map(lambda t: probe_window(t[1], int(t[2]), t[3]), targets)
print(json.dumps({t[0]: outcome for t, outcome in zip(targets, outcomes)}))
