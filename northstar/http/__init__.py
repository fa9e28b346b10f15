"""HTTP conventions shared by the FastAPI services: problem+json errors, health, metrics."""
