# The auditor as a container image: `make image` (docker or podman). Reports go to the /reports volume; run
# history and notifications to S3/SNS with --history s3://... and --notify sns:ARN (deploy/aws/nightly.yaml).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Stage 1: build the wheel (rules/ and reports/templates/ are mapped into the package by pyproject.toml).
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m pip install --no-input "build>=1.2" "hatchling>=1.25"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY auditor_demo ./auditor_demo
COPY rules ./rules
COPY reports ./reports
RUN python -m build --no-isolation --wheel --outdir /dist .

# Stage 2: the wheel alone on a slim Python: no compiler, no build backend, no sources, a non-root user.
FROM ${PYTHON_IMAGE}
# EXTRAS=demo adds moto so that `docker run IMAGE --demo` works; the default image is the product only.
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    XDG_STATE_HOME=/reports/.state
COPY --from=builder /dist/ /tmp/dist/
COPY deploy/docker/install.sh /tmp/install.sh
RUN sh /tmp/install.sh /tmp/dist/*.whl "$EXTRAS" && rm -rf /tmp/dist /tmp/install.sh \
    && useradd --system --uid 10001 --home-dir /reports --shell /usr/sbin/nologin auditor \
    && mkdir -p /reports && chown auditor /reports
USER 10001
WORKDIR /reports
VOLUME ["/reports"]
ENTRYPOINT ["audit"]
CMD ["--help"]
