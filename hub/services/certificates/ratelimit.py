"""Per-client rate limiting for the public pages, in memory (one service process; lost on restart).

A token bucket per client address: `burst` requests at once, then `per_minute` a minute. The table of
addresses is bounded (least recently seen are forgotten first) so a flood of addresses cannot exhaust
memory; a forgotten address simply starts with a full bucket again.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict

MAX_CLIENTS = 50_000


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, max_clients: int = MAX_CLIENTS) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last time)

    def allow(self, client: str, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until the next request would be allowed)."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        wait = 0.0 if allowed else (1.0 - tokens) / self.rate if self.rate else 60.0
        return allowed, wait


def client_key(peer: str, forwarded_for: str | None, trusted_hops: int) -> str:
    """The address to limit: the entry `trusted_hops` from the end of X-Forwarded-For (JupyterHub's proxy
    appends the address it saw; entries before it are whatever the client sent), or the peer itself.

    The service port is reachable only by the proxy (services listen on the hub's internal address and
    workspaces are firewalled from it), so the proxy's header is trusted. IPv6 clients are grouped by /64,
    the block one subscriber usually has."""
    address = peer
    if trusted_hops and forwarded_for:
        entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
        if len(entries) >= trusted_hops:
            address = entries[-trusted_hops]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return peer
    if ip.version == 6 and not ip.ipv4_mapped:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)
