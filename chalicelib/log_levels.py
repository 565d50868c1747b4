"""The libraries whose DEBUG lines carry secrets, held at WARNING whatever the root logger's level:
botocore logs request and response bodies (SSM SecureString values among them) and urllib3 logs
request URLs (the YouTube key travels in the query string, as its API requires)."""

from __future__ import annotations

import logging

SECRET_BEARING_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "requests")


def pin_library_loggers() -> None:
    """Hold the secret-bearing libraries' loggers at WARNING (every entry point calls this)."""
    for name in SECRET_BEARING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
