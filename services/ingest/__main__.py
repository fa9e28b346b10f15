"""`python -m services.ingest`: run the ingest service."""

from __future__ import annotations

from northstar.config import load_settings
from services.ingest.settings import IngestSettings
from services.runner import serve

if __name__ == "__main__":
    serve(
        "services.ingest.app:app_from_env",
        IngestSettings,
        workers=load_settings(IngestSettings).workers,
    )
