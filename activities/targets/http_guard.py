"""Where an HTTP step may not go: link-local and cloud-metadata addresses.

A request's host can come from an alert label, and the worker runs inside the cloud it acts on:
`http://169.254.169.254/` would hand the worker's own cloud credentials to whoever wrote the alert.
The host is resolved here and every address it resolves to is checked (a name with one good and one
bad address is refused), then the request is sent to the checked address itself, so a second DNS
answer (rebinding) cannot swap it. Loopback and private addresses are allowed: steps act on the
network the worker is in. HTTP_ALLOW_HOSTS lets named hosts through anyway.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog"})
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))

Resolver = Callable[[str, int], list[str]]


class GuardError(Exception):
    """The request may not be sent; the message says why (and how to allow the host, when it may be)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as getaddrinfo gives them (the system's resolver, /etc/hosts)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise GuardError(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden(address: str) -> str | None:
    """Why the address may not be called, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if any(ip in net for net in LINK_LOCAL):
        return "a link-local address"
    return None


def checked_address(host: str, port: int, allowed_hosts: Collection[str], resolver: Resolver = resolve) -> str:
    """The address to send the request to, once the host and each of its addresses passed; GuardError else."""
    name = host.strip("[]").lower().rstrip(".")
    exempt = name in allowed_hosts
    how = f" (unless {name} is in HTTP_ALLOW_HOSTS)"
    if name in METADATA_HOSTS and not exempt:
        raise GuardError(f"refused: {name} is a cloud metadata host{how}")
    try:
        addresses = [str(ipaddress.ip_address(name))]
    except ValueError:
        addresses = resolver(name, port)
    if not addresses:
        raise GuardError(f"cannot resolve {name}: no address")
    for address in addresses if not exempt else ():
        if reason := forbidden(address):
            shown = name if name == address else f"{name} ({address})"
            raise GuardError(f"refused: {shown} is {reason}, which HTTP steps may not call{how}")
    return addresses[0]
