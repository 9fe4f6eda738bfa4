# syntax=docker/dockerfile:1
# One image for the camops operator and every worker, drain and retention pod.
#   docker build -t camops .
#   docker run --rm camops --help
# Dependencies install from wheels only: PyAV's wheels bundle FFmpeg, simplejpeg's bundle
# libjpeg-turbo, so neither stage needs a compiler and the final one has no build tools.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY operator ./operator
COPY workers ./workers
# camops itself is pure Python: build its wheel, then install it and its dependencies into a
# venv, preferring binary wheels (this stage has no compiler either: a dependency that would
# need one fails the build here instead of slipping into the image).
RUN python -m venv /opt/camops \
    && /opt/camops/bin/pip install --upgrade pip \
    && /opt/camops/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/camops/bin/pip install --prefer-binary /tmp/wheels/camops-*.whl \
    && /opt/camops/bin/pip uninstall --yes pip \
    && /opt/camops/bin/camops --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="camops" \
      org.opencontainers.image.description="Runs fleets of IP cameras on Kubernetes: operator, capture workers, drain and retention." \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 camops \
    && useradd --system --uid 10001 --gid camops --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin camops \
    && mkdir -p /var/lib/camops \
    && chown camops:camops /var/lib/camops
COPY --from=build /opt/camops /opt/camops
ENV PATH=/opt/camops/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /var/lib/camops
# /healthz, /readyz and /metrics of the operator and of each worker.
EXPOSE 8080
ENTRYPOINT ["camops"]
CMD ["--help"]
