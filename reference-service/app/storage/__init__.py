"""Where a job's files live: the JobFiles interface and the local-disk implementation.

The S3 implementation (app.storage.s3) is imported only when S3_BUCKET is set: boto3
loads with it.
"""

from app.storage.base import JOB_ID_RE, THUMBNAIL, VIDEO, JobFiles, Result, StorageUnavailable
from app.storage.local import LocalJobFiles
from app.storage.scratch import INCOMING_PREFIX, ScratchFiles

__all__ = [
    "INCOMING_PREFIX",
    "JOB_ID_RE",
    "THUMBNAIL",
    "VIDEO",
    "JobFiles",
    "LocalJobFiles",
    "Result",
    "ScratchFiles",
    "StorageUnavailable",
]
