"""Host names and peer addresses as the server reads them: the Host header, ALLOWED_HOSTS
and TRUSTED_PROXIES, parsed strictly so that no spelling of a foreign name slips through.

Nothing here imports the rest of the app: app/settings.py validates with it and
app/api/hosts.py and app/auth/proxy.py match requests with it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# One DNS label (underscores allowed: some internal names use them; they cannot smuggle
# a separator). IPv4 literals match too and are compared as written.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_PORT = re.compile(r"^[0-9]{1,5}$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def canonical_name(text: str) -> str | None:
    """`Example.COM.` -> `example.com`; `[::1]` or `::1` -> `::1`; None when malformed."""
    name = text.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if ":" in name:
        if "%" in name:
            return None  # a zone id names an interface of the client, not this server
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    name = name.removesuffix(".")
    if not name or len(name) > 253:
        return None
    return name if all(_LABEL.match(label) for label in name.split(".")) else None


def host_of(value: str) -> str | None:
    """The canonical name of a Host header value (`name[:port]`, `[v6][:port]`), or None."""
    if not value.isascii() or any(c.isspace() or ord(c) < 32 for c in value):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            return None
    else:
        name, sep, port_text = value.partition(":")
        port = port_text if sep else None
    if port is not None and not _PORT.match(port):
        return None  # "host:" or "host:80@evil" or a second colon
    return canonical_name(name) if name else None


@dataclass(frozen=True)
class HostRule:
    """One ALLOWED_HOSTS entry: an exact name, or (leading dot) a domain and its subdomains."""

    name: str
    subdomains: bool = False

    def matches(self, host: str) -> bool:
        if host == self.name:
            return True
        return self.subdomains and host.endswith("." + self.name)


def parse_allowed_hosts(text: str) -> tuple[HostRule, ...]:
    """ALLOWED_HOSTS: comma list of names, IPs, `.domain` entries; raises ValueError."""
    rules = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        domain = entry.startswith(".")
        name = canonical_name(entry[1:] if domain else entry)
        if name is None or (domain and ":" in name):
            raise ValueError(
                f"{entry!r} is not a host name, IP address or .domain (no port, no scheme, "
                "no wildcard other than a leading dot)"
            )
        rules.append(HostRule(name, domain))
    if not rules:
        raise ValueError("name at least one host, e.g. localhost,127.0.0.1,::1")
    return tuple(rules)


def host_allowed(host: str, rules: tuple[HostRule, ...]) -> bool:
    return any(rule.matches(host) for rule in rules)


def parse_networks(text: str) -> tuple[Network, ...]:
    """TRUSTED_PROXIES: comma list of IPs and CIDRs; raises ValueError naming the entry."""
    networks = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR such as 10.0.0.0/8")
    return tuple(networks)


def address_in(address: str | None, networks: tuple[Network, ...]) -> bool:
    """Whether a peer address (as the server saw it) lies in one of the networks."""
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # a unix socket path or a test client's name is no proxy
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)
