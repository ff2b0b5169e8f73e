"""`python -m app`: validate configuration, then serve with uvicorn (the image's PID 1)."""

from __future__ import annotations

from app.core import fast_start

fast_start.begin()  # before the framework's imports (see app/core/fast_start.py)

import contextlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Generator  # noqa: E402

import uvicorn  # noqa: E402

from app.core.config import load_settings  # noqa: E402
from app.core.logging_setup import configure_logging  # noqa: E402

EXIT_BAD_CONFIG = 2
# Well inside Docker's 10 s stop grace period.
GRACEFUL_SHUTDOWN_SECONDS = 5


class Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises the caught signal after shutting down, which turns a
        # requested stop into "killed by SIGTERM" (exit 143). A stop is a clean exit.
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def main() -> int:
    settings = load_settings()
    if isinstance(settings, str):
        print(settings, file=sys.stderr)
        return EXIT_BAD_CONFIG

    configure_logging(settings.log_level, settings.log_health_probes)
    from app.main import create_app  # after logging, so import-time messages are formatted

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
    )
    server = Server(config)
    config.load()  # the rest of the start-up's imports
    fast_start.ready()
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
