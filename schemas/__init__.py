"""Every message on the wire, defined once (msgspec Structs)."""

from .bus import (
    RECORD_TOKEN,
    WIRE_VERSION,
    ErrorInfo,
    ExtractorResult,
    ImageEvent,
    RequestRecord,
    decode_event,
    decode_result,
    encode_event,
    encode_result,
    images_subject,
    results_subject,
)
from .stream import (
    STAGES,
    Metadata,
    StreamMessage,
    decode_message,
    deep_merge,
    encode_message,
)
from .tokens import (
    EXTENSION_KEY,
    ColorToken,
    ColorValue,
    DimensionToken,
    DimensionValue,
    Evidence,
    NumberToken,
    ShadowToken,
    ShadowValue,
    TypographyToken,
    TypographyValue,
    px,
)

__all__ = [
    "RECORD_TOKEN", "RequestRecord", "WIRE_VERSION", "ErrorInfo", "ExtractorResult", "ImageEvent",
    "decode_event",
    "decode_result", "encode_event", "encode_result", "images_subject", "results_subject",
    "STAGES", "Metadata", "StreamMessage", "decode_message", "deep_merge", "encode_message",
    "EXTENSION_KEY", "ColorToken", "ColorValue", "DimensionToken", "DimensionValue", "Evidence",
    "NumberToken", "ShadowToken", "ShadowValue", "TypographyToken", "TypographyValue", "px",
]
