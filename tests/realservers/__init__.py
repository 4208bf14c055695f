"""Real servers the tests start and stop themselves (no Docker, no system packages, no network)."""
