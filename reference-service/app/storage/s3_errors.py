"""S3's failures in plain words for clients, and in detail for the log, credentials removed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from boto3.exceptions import Boto3Error
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

# What a boto3 call raises when S3 (or the way to it) fails it.
S3_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError, Boto3Error)

# Error codes of a key that is not there. HeadObject has no body, so its 404 has no
# code but the status; NoSuchBucket (also a 404) is a configuration fault, not this.
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "AccountProblem",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
    }
)
_BUSY = frozenset({"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"})
# user:password@ in an endpoint URL quoted by an error message.
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_SAFE_CODE = re.compile(r"[A-Za-z0-9.]{1,64}")


def cause(exc: BaseException) -> BaseException:
    """The S3 error itself: boto3's upload wraps it (S3UploadFailedError) with no `from`."""
    if isinstance(exc, Boto3Error):
        inner = getattr(exc, "last_exception", None) or exc.__cause__ or exc.__context__
        if inner is not None:
            return inner
    return exc


def error_code(exc: BaseException) -> str:
    exc = cause(exc)
    if not isinstance(exc, ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_missing(exc: BaseException) -> bool:
    return error_code(exc) in _MISSING


def plain_reason(exc: BaseException) -> str:
    """Why, in words a client may read: nothing of the bucket, endpoint or credentials."""
    exc = cause(exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        return "no AWS credentials were found"
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return "S3 could not be reached"
    if isinstance(exc, ClientError):
        code, status = error_code(exc), _status(exc)
        if code in _DENIED or status == 403:
            return "S3 refused access (check the credentials and the bucket's permissions)"
        if code == "NoSuchBucket":
            return "the S3 bucket does not exist"
        if code in _BUSY or status >= 500:
            return "S3 is unavailable or overloaded"
        if _SAFE_CODE.fullmatch(code):
            return f"S3 answered {code}"
    return "S3 failed the request"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return _USERINFO.sub("<hidden>@", text)
