"""The evaluator process: the consumer loop, plus `/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from northstar import telemetry
from northstar.config import load_settings
from northstar.db.engine import create_engine
from northstar.http.health import database_check, health_router
from northstar.http.problems import install_problem_handlers
from northstar.logs import configure_logging
from services.evaluator.consumer import EvaluatorLoop
from services.evaluator.housekeeping import Housekeeping
from services.evaluator.lag import LagWatcher, PipelineHealth
from services.evaluator.notify.notifier import Notifier
from services.evaluator.notify.schedules import NotificationSchedule
from services.evaluator.outbox.dispatcher import WebhookDispatcher
from services.evaluator.outbox.relay import OutboxRelay
from services.evaluator.ownership import JudgeRequestSignal
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.sweep import GoalEvaluationStep

log = logging.getLogger(__name__)


def create_app(settings: EvaluatorSettings) -> FastAPI:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        application_name=f"northstar-evaluator/{settings.instance_name}",
    )
    # The outbox relay and webhook dispatcher get their own small pool, so slow webhook
    # receivers can never take connections the consumer loop needs.
    notifications_engine = create_engine(
        settings.database_url, pool_size=3, application_name="northstar-evaluator-notifications"
    )
    dispatcher = WebhookDispatcher(settings, notifications_engine)
    notifier = Notifier(settings, notifications_engine)
    relay = OutboxRelay(
        settings,
        notifications_engine,
        on_deliveries_queued=dispatcher.nudge,
        on_messages_queued=notifier.nudge,
    )
    schedule = NotificationSchedule(settings, notifications_engine, on_queued=notifier.nudge)
    housekeeping = Housekeeping(
        engine,
        dedupe_window=timedelta(days=settings.dedupe_window_days),
        outbox_retention=timedelta(days=settings.outbox_retention_days),
        delivery_retention=timedelta(days=settings.delivery_retention_days),
    )
    evaluation = GoalEvaluationStep(
        engine,
        interval=settings.evaluation_interval,
        on_outbox=relay.nudge,
        after_sweep=housekeeping.run,
    )
    # Wakes this replica when another requests judgements of the goals it owns.
    signal = JudgeRequestSignal(
        settings.database_url,
        application_name=f"northstar-evaluator-listen/{settings.instance_name}",
    )
    loop = EvaluatorLoop(
        settings,
        engine,
        after_store=evaluation.after_store,
        judge_requested=evaluation.judge_requested,
        signal=signal,
    )
    watcher = LagWatcher(loop, interval=settings.lag_interval_seconds)
    pipeline = PipelineHealth(
        loop,
        watcher,
        relay,
        failed_attempts=settings.readiness_failed_attempts,
        max_lag_seconds=settings.readiness_max_lag_seconds,
        outbox_max_age_seconds=settings.outbox_max_age_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A batch creates many short-lived objects (several per event), most of them
        # alive until the batch is stored, so with the default thresholds (700, 10, 10) the
        # collector ran over and over through live batches: a large share of the time of preparing
        # one (docs/performance.md). Collect the young generation every 50,000 allocations
        # instead, and keep the start-up heap out of every collection.
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        stopping = asyncio.Event()
        task = asyncio.create_task(loop.run(), name="evaluator-loop")
        task.add_done_callback(_crash_if_failed)
        sweeper = asyncio.create_task(evaluation.sweep_forever(stopping), name="sweep")
        listener = asyncio.create_task(signal.run(stopping), name="judge-request-listener")
        lag = asyncio.create_task(watcher.run(stopping), name="lag-watcher")
        notifiers = [
            asyncio.create_task(relay.run(), name="outbox-relay"),
            asyncio.create_task(dispatcher.run(), name="webhook-dispatcher"),
            asyncio.create_task(notifier.run(), name="notifier"),
            asyncio.create_task(schedule.run(), name="notification-schedule"),
        ]
        for background in notifiers:
            background.add_done_callback(_crash_if_failed)
        yield
        # SIGTERM: finish the batch in flight, commit it, leave the group.
        stopping.set()
        loop.request_stop()
        relay.request_stop()
        dispatcher.request_stop()  # lets POSTs in flight finish (≤ the webhook timeout)
        notifier.request_stop()  # the same for messages being sent
        schedule.request_stop()
        await task
        await sweeper
        await listener
        await lag
        await asyncio.gather(*notifiers)
        await notifications_engine.dispose()
        await engine.dispose()

    app = FastAPI(title="Northstar evaluator", version="1.0", lifespan=lifespan)
    # `app.state.relay.nudge()` relays at once after a commit that wrote outbox rows.
    app.state.relay = relay
    install_problem_handlers(app)

    app.include_router(
        health_router(
            {
                "database": database_check(engine),
                "kafka": loop.check,
                "consumer": pipeline.consumer,
                "outbox": pipeline.outbox,
            },
            registry=telemetry.EVALUATOR,
        )
    )
    return app


def _crash_if_failed(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical(f"evaluator task {task.get_name()} died", exc_info=task.exception())
        # A consumer that stopped consuming must not look healthy: exit so the supervisor
        # restarts it (and the group rebalances its partitions meanwhile).
        raise SystemExit(1)


def app_from_env() -> FastAPI:
    settings = load_settings(EvaluatorSettings)
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
