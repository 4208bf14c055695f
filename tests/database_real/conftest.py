from tests.realservers.postgres import postgres_server  # noqa: F401 - session-scoped fixture
