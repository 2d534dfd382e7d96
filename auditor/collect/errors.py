"""AWS call failures, classified into families: not found, access denied, throttled, timeout, malformed, other."""

from __future__ import annotations

from enum import Enum

NOT_FOUND_CODES = frozenset({
    "NoSuchBucket", "NoSuchKey", "NotFound", "404", "NoSuchEntity", "NotFoundException",
    "ResourceNotFoundException", "ResourceNotFound", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound",
    "InvalidVpcID.NotFound", "TrailNotFoundException", "ResourceNotFoundFault",
})
ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation", "UnrecognizedClientException",
    "InvalidClientTokenId", "AuthFailure", "ExpiredToken", "ExpiredTokenException", "OptInRequired",
})
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "SlowDown", "503",
    "EC2ThrottledException", "PriorRequestNotComplete",
})
# botocore exception class names for a call that got no (complete) answer in time
TIMEOUT_CODES = frozenset({"ReadTimeoutError", "ConnectTimeoutError", "ConnectionClosedError",
                           "EndpointConnectionError"})
MALFORMED = "MalformedResponse"  # a 200 answer that lacks what its operation always returns


class ErrorKind(Enum):
    NOT_FOUND = "not_found"  # the resource is gone: a dangling reference, not an unreadable one
    ACCESS_DENIED = "access_denied"
    THROTTLED = "throttled"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    OTHER = "other"


class CollectError(Exception):
    """A failed AWS call, classified; collectors catch it and record it."""

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        super().__init__(f"{service}:{operation}: {code}: {message}")
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message

    @property
    def kind(self) -> ErrorKind:
        if self.not_found:
            return ErrorKind.NOT_FOUND
        if self.code in ACCESS_DENIED_CODES:
            return ErrorKind.ACCESS_DENIED
        if self.code in THROTTLING_CODES:
            return ErrorKind.THROTTLED
        if self.code in TIMEOUT_CODES:
            return ErrorKind.TIMEOUT
        if self.code == MALFORMED or self.code in ("ResponseParserError", "AttributeError", "TypeError"):
            return ErrorKind.MALFORMED
        return ErrorKind.OTHER

    @property
    def not_found(self) -> bool:
        if self.code in NOT_FOUND_CODES:
            return True
        # SageMaker reports missing resources as ValidationException "Could not find ..."; any other
        # ValidationException (a bad parameter, a throttled list) says nothing about existence.
        return self.code == "ValidationException" and "could not find" in self.message.lower()

    @property
    def reason(self) -> str:
        return f"{self.service}:{self.operation} failed: {self.code}: {self.message}"


def classify(service: str, operation: str, exc: Exception) -> CollectError:
    """Any exception from a botocore call as a CollectError with the AWS error code (or the exception's type)."""
    from botocore.exceptions import ClientError

    if isinstance(exc, CollectError):
        return exc
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Unknown"))
        return CollectError(service, operation, code, str(err.get("Message") or exc))
    # botocore's own errors (timeouts, connection resets, unparseable answers) and anything else: the class
    # name is the code, so the report says what happened without a traceback
    return CollectError(service, operation, type(exc).__name__, str(exc))
