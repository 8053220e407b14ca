# syntax=docker/dockerfile:1
# Targets: `app` (gateway, CPU workers, LLM naming) and `models` (adds torch for the
# depth + CLIP worker). docker-compose.yml picks the command per service.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY stylestream stylestream
COPY schemas schemas
COPY extractors extractors
COPY services services
COPY gateway gateway
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim AS app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
RUN useradd --create-home --uid 10001 stylestream
COPY --from=build /wheels /wheels
RUN pip install "$(ls /wheels/stylestream-*.whl)[llm]" && rm -rf /wheels
USER stylestream
EXPOSE 8080 9091
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["stylestream", "gateway", "--host", "0.0.0.0", "--port", "8080"]

FROM app AS models
USER root
COPY --from=build /wheels /wheels
RUN pip install "$(ls /wheels/stylestream-*.whl)[models,llm]" && rm -rf /wheels
USER stylestream
HEALTHCHECK --interval=10s --timeout=3s --retries=5 --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9091/healthz', timeout=2)" || exit 1
CMD ["stylestream", "worker", "models", "--metrics-port", "9091", "--metrics-host", "0.0.0.0"]
