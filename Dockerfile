# The Northstar image: one image for api, ingest, evaluator and migrations.
# docker-compose.yml picks the service with `command:`; the default is the api.

# Stage 1: the web app (web/), built with Node into static files the api serves at /.
FROM node:24-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/index.html web/tsconfig.json web/vite.config.ts ./
COPY web/src ./src
RUN npm run build

# Stage 2: the services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NORTHSTAR_LOG_FORMAT=json

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin northstar

WORKDIR /app

# Runtime dependencies only (no `[dev]` extras); sources the image does not run
# (tests, devstack, bench, docs) are kept out by .dockerignore.
COPY pyproject.toml alembic.ini ./
COPY northstar ./northstar
COPY services ./services
RUN pip install . \
    && rm -rf build *.egg-info
COPY --from=web /web/dist ./web/dist
ENV NORTHSTAR_WEB_DIST=/app/web/dist

USER northstar

EXPOSE 8000 8001 8002
CMD ["python", "-m", "services.api"]
