"""Shared fixtures: a real PostgreSQL (embedded by default) and real Temporal servers.

``KHUYENCONG_TEST_DATABASE_URL`` points the suite at an existing PostgreSQL instead of the
embedded one; each session then works in a fresh database of its own.
"""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.identity",
    "tests.support.temporal",
    "tests.support.refusing_db",
    "tests.support.s3",
]
