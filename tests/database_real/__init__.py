"""The prod stack's declared database, applied to a real PostgreSQL server the way the provider would."""
