"""`python -m services.api`: run the api service."""

from __future__ import annotations

from northstar.config import load_settings
from services.api.settings import ApiSettings
from services.runner import serve

if __name__ == "__main__":
    serve("services.api.app:app_from_env", ApiSettings, workers=load_settings(ApiSettings).workers)
