"""HTTP helpers for the callers of the notifications services (its API, a portal's views)."""

import ipaddress

from notifications import conf


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or with SMS_TRUSTED_PROXY_COUNT = N > 0 proxies in
    front, the address the outermost of them saw (the N-th X-Forwarded-For entry from the
    right; entries further left are the client's own claims and can be forged)."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = int(conf.get("SMS_TRUSTED_PROXY_COUNT"))
    if proxies > 0:
        forwarded = [
            a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()
        ]
        if len(forwarded) >= proxies:
            remote = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None
