"""Storage: the SQLAlchemy models that mirror the Alembic migrations, and engine set-up."""
