"""The api service: REST resources under `/v1`, health, and `/metrics`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry

from northstar import crypto, telemetry
from northstar.auth.authenticator import Authenticator
from northstar.auth.keys import Scope, hash_key, prefix_of
from northstar.config import load_settings
from northstar.db.engine import create_engine, session_factory
from northstar.http.bodylimit import BodyLimitMiddleware
from northstar.http.health import MetricsAccess, database_check, health_router
from northstar.http.middleware import RequestIdMiddleware
from northstar.http.openapi import document_errors, serve_docs_offline
from northstar.http.problems import install_problem_handlers
from northstar.http.ratelimit import RateLimiter, parse_limits
from northstar.logs import configure_logging
from services.api.access import SESSION_COOKIE
from services.api.alerts.routes import router as alerts_router
from services.api.analysis.routes import router as analysis_router
from services.api.api_keys.repository import ApiKeyRepository
from services.api.api_keys.routes import router as api_keys_router
from services.api.apply.routes import router as apply_router
from services.api.audit.routes import router as audit_router
from services.api.catalogue.routes import router as catalogue_router
from services.api.check_ins.routes import router as check_ins_router
from services.api.cycles.routes import router as cycles_router
from services.api.gate import PUBLIC_PATHS, ApiGate
from services.api.gauges import business_gauges
from services.api.goals.nodes import GoalNodes
from services.api.goals.routes import router as goals_router
from services.api.history.routes import router as history_router
from services.api.identity_providers.oidc import RelyingParty
from services.api.identity_providers.routes import public_router as sign_in_choices_router
from services.api.identity_providers.routes import router as identity_providers_router
from services.api.identity_providers.sign_in import OIDC_PATHS, provider_sign_out_url
from services.api.identity_providers.sign_in import router as oidc_router
from services.api.initiatives.routes import router as initiatives_router
from services.api.kpis.routes import router as kpis_router
from services.api.members.routes import router as members_router
from services.api.notifications.routes import routers as notification_routers
from services.api.pagination import use_cursor_secret
from services.api.people.routes import router as people_router
from services.api.reviews.routes import router as reviews_router
from services.api.scim.errors import ScimError, scim_error_handler
from services.api.scim.routes import router as scim_router
from services.api.sessions.routes import router as sessions_router
from services.api.sessions.throttle import LoginThrottle
from services.api.settings import ApiSettings
from services.api.sources.routes import router as sources_router
from services.api.units.routes import router as units_router
from services.api.users.bootstrap import ensure_bootstrap_admin
from services.api.users.routes import router as users_router
from services.api.web.static import DEFAULT_DIST, mount_web_app
from services.api.webhooks.repository import WebhookRepository
from services.api.webhooks.routes import router as webhooks_router


def metrics_access(authenticator: Authenticator) -> MetricsAccess:
    """Business gauges (goal titles, targets, statuses) only for a key with `metrics:read`
    (admin keys have it); without credentials `/metrics` shows the process metrics only."""

    async def allowed(request: Request) -> bool:
        authorization = request.headers.get("authorization")
        if authorization is None:
            return False
        await authenticator.authenticate(authorization, Scope.METRICS_READ)
        return True

    return allowed


def create_app(settings: ApiSettings) -> FastAPI:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        application_name="northstar-api",
    )
    sessions = session_factory(engine)
    # Business gauges live apart from the process metrics: they need credentials.
    business_registry = CollectorRegistry(auto_describe=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.bootstrap_admin_key:
            async with sessions() as session:
                await ApiKeyRepository(session).ensure(
                    "bootstrap-admin",
                    [Scope.ADMIN.value],
                    hash_key(settings.bootstrap_admin_key),
                    prefix_of(settings.bootstrap_admin_key),
                )
                await session.commit()
        if settings.metrics_key:
            async with sessions() as session:
                await ApiKeyRepository(session).ensure(
                    "prometheus",
                    [Scope.METRICS_READ.value],
                    hash_key(settings.metrics_key),
                    prefix_of(settings.metrics_key),
                )
                await session.commit()
        if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
            async with sessions() as session:
                await ensure_bootstrap_admin(
                    session, settings.bootstrap_admin_email, settings.bootstrap_admin_password
                )
                await session.commit()
        async with sessions() as session:
            # Secrets stored before they were encrypted (migration 0005).
            await WebhookRepository(session).encrypt_legacy_secrets(app.state.webhook_box)
            await session.commit()
        async with business_gauges(
            engine, registry=business_registry, interval=settings.gauges_refresh_seconds
        ):
            # Everything alive now (modules, app, pools) lives as long as the process: move
            # it out of the collector's sight, so the full collections that large responses
            # (a large goal tree) trigger do not walk it each time (docs/performance.md).
            gc.freeze()
            yield
        await engine.dispose()

    app = FastAPI(
        title="Northstar API",
        version="1.0",
        description="Goals, KPIs, org units, alerts, reviews, webhooks and API keys.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_docs_offline(app)
    document_errors(app, public_paths=PUBLIC_PATHS | OIDC_PATHS, session_cookie=SESSION_COOKIE)
    app.state.sessions = sessions
    app.state.settings = settings
    # One limiter (one store, one Redis connection pool when shared) for the gate and
    # the sign-in throttle; their counters are kept apart by namespace.
    limiter = RateLimiter(settings.rate_limit_storage)
    app.state.login_throttle = LoginThrottle(
        limiter, settings.login_limit_per_account, settings.login_limit_per_address
    )
    app.state.limiter = limiter  # also counts channel tests (services/api/notifications)
    app.state.authenticator = Authenticator(engine, ttl=settings.api_key_cache_seconds)
    app.state.goal_nodes = GoalNodes()
    # Signing out here also signs out at the identity provider the session came from:
    # composed here so the sessions and identity-provider features never import each
    # other (the OIDC callback opens its session through the sessions feature).
    app.state.provider_sign_out_url = provider_sign_out_url
    app.state.notification_settings = settings
    app.state.outbound = settings
    app.state.relying_party = RelyingParty(allow_private=settings.webhook_allow_private_networks)
    app.state.webhook_box = crypto.SecretBox.from_settings(
        settings.encryption_keys, settings.database_url
    )
    install_problem_handlers(app)
    app.add_exception_handler(ScimError, scim_error_handler)
    use_cursor_secret(settings.cursor_key())
    # Added last = runs first: request id, then the body limit, then the gate.
    app.add_middleware(
        ApiGate,
        authenticator=app.state.authenticator,
        limiter=limiter,
        per_key=parse_limits(settings.rate_limit_per_key),
        per_address=parse_limits(settings.rate_limit_per_address),
        failed_auth=parse_limits(settings.failed_auth_limit),
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)

    checks = {"database": database_check(engine)}
    if limiter.shared:
        checks["rate_limit_storage"] = limiter.check
    app.include_router(
        health_router(
            checks,
            registry=telemetry.API,
            private=(business_registry, metrics_access(app.state.authenticator)),
        )
    )
    app.include_router(sessions_router)
    app.include_router(users_router)
    app.include_router(identity_providers_router)
    app.include_router(sign_in_choices_router)
    app.include_router(oidc_router)
    app.include_router(scim_router)
    app.include_router(people_router)
    app.include_router(audit_router)
    app.include_router(api_keys_router)
    app.include_router(catalogue_router)
    app.include_router(units_router)
    app.include_router(members_router)
    app.include_router(analysis_router)
    app.include_router(kpis_router)
    app.include_router(goals_router)
    app.include_router(history_router)
    app.include_router(alerts_router)
    app.include_router(reviews_router)
    app.include_router(webhooks_router)
    app.include_router(sources_router)
    app.include_router(initiatives_router)
    app.include_router(check_ins_router)
    app.include_router(cycles_router)
    app.include_router(apply_router)
    for router in notification_routers:
        app.include_router(router)
    # Last: it answers every GET no api route matched.
    mount_web_app(app, settings.web_dist or DEFAULT_DIST)
    return app


def app_from_env() -> FastAPI:
    settings = load_settings(ApiSettings)
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
