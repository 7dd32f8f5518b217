"""What a pod can reach: run inside a pod (python -c), it tries each target and prints one
JSON object {name: "open" | "answered" | "refused" | "timeout" | "unreachable" | error}.

Targets come as JSON in argv[1]: [[name, host, port, "tcp" | "dns"], ...]. A DNS target sends
one real query for kubernetes.default.svc.cluster.local and waits for any answer."""

import json
import socket
import struct
import sys

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


print(json.dumps({name: probe(host, int(port), kind) for name, host, port, kind in json.loads(sys.argv[1])}))
