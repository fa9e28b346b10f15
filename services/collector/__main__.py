"""`python -m services.collector`: run the collector (scheduler + health endpoints)."""

from __future__ import annotations

from services.collector.settings import CollectorSettings
from services.runner import serve

if __name__ == "__main__":
    serve("services.collector.app:app_from_env", CollectorSettings)
