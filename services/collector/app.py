"""The collector process: the scheduler, plus `/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from northstar import telemetry
from northstar.config import load_settings
from northstar.crypto import SecretBox
from northstar.db.engine import create_engine
from northstar.events.publisher import EventPublisher
from northstar.http.health import database_check, health_router
from northstar.http.problems import install_problem_handlers
from northstar.logs import configure_logging
from northstar.telemetry import COLLECTOR_BROKER_UP
from services.collector.scheduler import Scheduler
from services.collector.settings import CollectorSettings

log = logging.getLogger(__name__)


def create_app(settings: CollectorSettings) -> FastAPI:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        application_name="northstar-collector",
    )
    publisher = EventPublisher(
        settings,
        timeout=settings.produce_timeout_seconds,
        client_id="northstar-collector",
        broker_up=COLLECTOR_BROKER_UP,
    )
    box = SecretBox.from_settings(settings.encryption_keys, settings.database_url)
    scheduler = Scheduler(settings, engine, publish=publisher.publish, box=box)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        task = asyncio.create_task(scheduler.run_forever(), name="source-scheduler")
        yield
        scheduler.request_stop()
        await task
        await publisher.stop()
        await engine.dispose()

    app = FastAPI(title="Northstar collector", version="1.0", lifespan=lifespan)
    app.state.scheduler = scheduler
    install_problem_handlers(app)
    app.include_router(
        health_router(
            {"database": database_check(engine), "kafka": publisher.check},
            registry=telemetry.COLLECTOR,
        )
    )
    return app


def app_from_env() -> FastAPI:
    """Zero-argument factory for uvicorn."""
    settings = load_settings(CollectorSettings)
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
