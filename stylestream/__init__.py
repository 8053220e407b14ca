"""stylestream: design tokens from UI screenshots, streamed as each extractor finishes."""

__version__ = "0.1.0"
