"""gunicorn settings of the example fork: one uvicorn worker, the port, log level and
validation from the app's own settings (a bad setting stops the master with one line,
as `python -m app` does)."""

import logging
import sys
from typing import Any, ClassVar

from pydantic import ValidationError
from uvicorn_worker import UvicornWorker

from app.core.config import Settings, describe_validation_error
from app.core.logging_setup import configure_logging


class QuietWorker(UvicornWorker):
    """uvicorn's worker without its `Server: uvicorn` header (SEC-HEADERS), as the
    reference's `--no-server-header`."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        "server_header": False,
    }


try:
    settings = Settings()
except ValidationError as exc:
    print(f"configuration error: {describe_validation_error(exc)}", file=sys.stderr)
    sys.exit(2)

configure_logging(settings.log_level)
# The app's logging stops recording process IDs (its format shows none); gunicorn's
# own lines show them ("[%(process)d]").
logging.logProcesses = True
bind = f"0.0.0.0:{settings.port}"
workers = 1
worker_class = QuietWorker  # gunicorn takes a class as well as its dotted name
loglevel = settings.log_level.lower()
graceful_timeout = 5
# No control socket: it would live in $HOME (/app), which is not the app user's to write.
control_socket_disable = True
