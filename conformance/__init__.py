"""ai-video-conformance: a pytest plugin that checks a backend image against its contract."""

__version__ = "0.1.0"
