"""Print the api's OpenAPI document without a server or database: `python -m
services.api.openapi_document [out.json]`.

The web app's typed client (`web/src/shared/api/schema.d.ts`) is generated from this
output (`make web-client`), and `make lint` regenerates it to a temporary file to check
that the committed client is not stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from services.api.app import create_app
from services.api.settings import ApiSettings


def openapi_document() -> dict[str, Any]:
    """The document `/openapi.json` serves; the engine is created but never connects."""
    settings = ApiSettings(
        database_url="postgresql://openapi@127.0.0.1:1/none",
        http_port=8000,
        # Never used: nothing is encrypted; set so the app does not warn about deriving one.
        encryption_keys="openapi-document-only",
    )
    return create_app(settings).openapi()


def main(argv: list[str]) -> None:
    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if len(argv) > 1:
        Path(argv[1]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
