"""gunicorn settings of the example fork: one uvicorn worker, the port, log level and
validation from the app's own settings (a bad setting stops the master with one line,
as `python -m app` does)."""

import sys

from pydantic import ValidationError

from app.core.config import Settings, describe_validation_error
from app.core.logging_setup import configure_logging

try:
    settings = Settings()
except ValidationError as exc:
    print(f"configuration error: {describe_validation_error(exc)}", file=sys.stderr)
    sys.exit(2)

configure_logging(settings.log_level)
bind = f"0.0.0.0:{settings.port}"
workers = 1
worker_class = "uvicorn_worker.UvicornWorker"
loglevel = settings.log_level.lower()
graceful_timeout = 5
# No control socket: it would live in $HOME (/app), which is not the app user's to write.
control_socket_disable = True
