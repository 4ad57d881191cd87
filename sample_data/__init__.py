"""Seeded sample community for SkyLoop Airways: ``generate()`` the canonical frames, ``write_exports()`` the CSV files."""

from .generator import (
    HIJACK_CAMPAIGN,
    HIJACK_END,
    HIJACK_START,
    HIJACKED_HASHTAG,
    RESPONSE_TIME_CHANGE_DATE,
    SampleData,
    generate,
    write_exports,
)

__all__ = [
    "HIJACK_CAMPAIGN",
    "HIJACK_END",
    "HIJACK_START",
    "HIJACKED_HASHTAG",
    "RESPONSE_TIME_CHANGE_DATE",
    "SampleData",
    "generate",
    "write_exports",
]
