"""Start a service's ASGI app under uvicorn with its validated settings."""

from __future__ import annotations

import uvicorn

from northstar.config import ServiceSettings, load_settings
from northstar.logs import configure_logging


def serve(factory: str, settings_class: type[ServiceSettings], *, workers: int = 1) -> None:
    """Validate settings first (fail fast, naming the variable), then run uvicorn.

    `factory` is "module:function", a zero-argument function that builds the app from the
    environment; with `workers > 1` every worker process calls it."""
    settings = load_settings(settings_class)
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        # An idle keep-alive connection is closed after this. uvicorn has no timeout for
        # reading a request's headers or body: that is the reverse proxy's job
        # (deploy/proxy/nginx.conf, docs/security.md).
        timeout_keep_alive=5,
        loop="uvloop",
        http="httptools",
    )
