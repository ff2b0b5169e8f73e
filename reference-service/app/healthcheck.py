"""`python -m app.healthcheck`: the image HEALTHCHECK. Stdlib only, so it starts fast."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 3.0


def check(port: str) -> str | None:
    """None when healthy, otherwise why not."""
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} unreachable: {reason}"
    if status != 200:
        return f"{url} answered HTTP {status}"
    try:
        payload = json.loads(body)
    except ValueError:
        return f"{url} did not return JSON"
    if not isinstance(payload, dict) or payload.get("status") != "healthy":
        return f"{url} reported {payload!r}"
    return None


def main() -> int:
    port = os.environ.get("PORT", "8000").strip() or "8000"
    if not port.isdigit():
        print(f"unhealthy: PORT={port!r} is not a number", file=sys.stderr)
        return 1
    problem = check(port)
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
