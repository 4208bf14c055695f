# Imported here so that pytest registers these fixtures for every test of this directory.
from tests.realservers.postgres import postgres_server  # noqa: F401 - session-scoped fixture
from tests.realservers.s3 import s3_bucket, s3_server  # noqa: F401 - fixtures of test_s3.py
