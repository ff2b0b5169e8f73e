"""Where a job's files live: the JobFiles interface and the local-disk implementation."""

from app.storage.base import JOB_ID_RE, JobFiles
from app.storage.local import INCOMING_PREFIX, LocalJobFiles

__all__ = ["INCOMING_PREFIX", "JOB_ID_RE", "JobFiles", "LocalJobFiles"]
