"""The one error hierarchy. Every error carries a stable ``code`` that reaches clients.

Codes are part of the wire contract (``metadata.error.code``): add new ones, never rename.
How a worker settles a JetStream message for each error lives in
``stylestream.services.dispositions`` so this module stays free of bus concepts.
"""

from __future__ import annotations


class StylestreamError(Exception):
    """Root of every error stylestream raises on purpose."""

    code: str = "INTERNAL"
    #: HTTP status used when the error ends a whole request at the edge.
    http_status: int = 500

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


# --- whole-request errors (one `failed` frame, then close) ---------------------------

class RequestError(StylestreamError):
    """The request as a whole cannot be served."""

    code = "BAD_REQUEST"
    http_status = 400


class InvalidImage(RequestError):
    """The upload is not a decodable PNG, JPEG or WebP image."""

    code = "INVALID_IMAGE"
    http_status = 400


class ImageTooLarge(RequestError):
    """The upload exceeds the byte or pixel limit."""

    code = "IMAGE_TOO_LARGE"
    http_status = 413


class ImageTooSmall(RequestError):
    """The image is too small to measure anything in."""

    code = "IMAGE_TOO_SMALL"
    http_status = 400


class UnknownExtractor(RequestError):
    """An extractor named in the request is not registered."""

    code = "UNKNOWN_EXTRACTOR"
    http_status = 400


class BadParameter(RequestError):
    """A query parameter has an invalid value."""

    code = "BAD_PARAMETER"
    http_status = 400


class NoImage(RequestError):
    """The client closed or timed out before sending the image frame."""

    code = "NO_IMAGE"
    http_status = 400


class OverCapacity(RequestError):
    """The gateway is at its limit of requests in flight; retry later."""

    code = "OVER_CAPACITY"
    http_status = 503


class BusUnavailable(RequestError):
    """The message bus cannot be reached or refused the image event."""

    code = "BUS_UNAVAILABLE"
    http_status = 503


# --- per-extractor errors (one `extractor_failed` frame; the others keep streaming) ---

class ExtractorError(StylestreamError):
    """An extractor raised while measuring the image."""

    code = "EXTRACTOR_ERROR"


class ExtractorTimeout(ExtractorError):
    """The extractor did not answer within the request deadline."""

    code = "EXTRACTOR_TIMEOUT"


class ExtractorUnavailable(ExtractorError):
    """No live worker serves this extractor right now."""

    code = "EXTRACTOR_UNAVAILABLE"


class ModelUnavailable(ExtractorError):
    """The model this extractor needs is not loaded (no weights configured or load failed)."""

    code = "MODEL_UNAVAILABLE"


class BudgetExceeded(ExtractorError):
    """Running this extractor would spend more than the request's budget; it was skipped."""

    code = "BUDGET_EXCEEDED"


class LlmUnavailable(ExtractorError):
    """No LLM endpoint/key is configured, or it refused the credentials."""

    code = "LLM_UNAVAILABLE"


class LlmTimeout(ExtractorError):
    """The LLM did not answer in time."""

    code = "LLM_TIMEOUT"


class LlmError(ExtractorError):
    """The LLM endpoint answered with an error or an unusable reply."""

    code = "LLM_ERROR"


# --- bus-level errors inside services --------------------------------------------------

class BadMessage(StylestreamError):
    """A bus message could not be decoded; retrying cannot help."""

    code = "BAD_MESSAGE"


class PublishFailed(StylestreamError):
    """A result could not be published; the event is retried after a delay."""

    code = "PUBLISH_FAILED"
