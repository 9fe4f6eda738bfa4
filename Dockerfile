# syntax=docker/dockerfile:1
# One image for the camops operator and every worker, drain and retention pod.
#   make image                       # docker, podman or buildah, whichever is installed (scripts/image.sh)
#   docker build -t camops .         # the same by hand
#   docker run --rm camops --help
# PYTHON_IMAGE is the base of the final stage, BUILD_IMAGE of the build stage: the same Python 3.11 on Debian
# bookworm (the build stage installs binutils for `strip` when its base has none). `make image` on a machine
# with only buildah passes two bases it made with mmdebstrap from Debian's packages (Debian's python3.11):
# the runtime one without venv, perl or iconv modules, the build one with venv and binutils.
# Dependencies install from wheels where they have them: PyAV's wheels bundle FFmpeg, simplejpeg's bundle
# libjpeg-turbo, so neither stage needs a compiler and the final one has no build tools and no pip.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG BUILD_IMAGE=python:3.11-slim-bookworm

FROM ${BUILD_IMAGE} AS build
# A CA bundle for pip behind an inspecting proxy (a path mounted into the build; scripts/image.sh).
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN command -v strip >/dev/null \
    || (apt-get update && apt-get install --yes --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*)
RUN python -m venv /opt/camops \
    && /opt/camops/bin/pip install --upgrade pip
# The dependencies first, in a layer of their own: rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && /opt/camops/bin/pip install --prefer-binary -r /tmp/requirements.txt
# camops itself is pure Python: build its wheel and install it without touching the dependencies. Then
# drop what nothing runs (docs/operations.md, "The image", has the sizes): the kubernetes package's unused
# asyncio client, the test suites of numpy, pycryptodome and websocket-client, the symbol tables of the
# compiled extensions (not of the libraries auditwheel bundled in *.libs: strip breaks their patched
# headers), and the kubernetes client's sources: it keeps only bytecode without docstrings (tracebacks
# through it show file and line, not the line's text). A smoke import checks what was stripped still loads.
COPY README.md LICENSE ./
COPY operator ./operator
COPY workers ./workers
ARG SITE=/opt/camops/lib/python3.11/site-packages
RUN /opt/camops/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/camops/bin/pip install --no-deps /tmp/wheels/camops-*.whl \
    && rm -rf $SITE/kubernetes/aio $SITE/numpy/tests $SITE/numpy/*/tests $SITE/Crypto/SelfTest $SITE/websocket/tests \
    && find $SITE -name '*.so*' -type f -not -path '*.libs/*' -exec strip --strip-unneeded {} + \
    && find $SITE/kubernetes -name __pycache__ -prune -exec rm -rf {} + \
    && /opt/camops/bin/python -m compileall -q -b -o 2 $SITE/kubernetes \
    && find $SITE/kubernetes -name '*.py' -delete \
    && /opt/camops/bin/python -c 'import av, numpy, PIL.Image, simplejpeg, yaml, aiohttp, pydantic, Crypto.Cipher.AES, kubernetes.client, kopf, minio, camops_operator.cli' \
    && /opt/camops/bin/camops --version \
    && /opt/camops/bin/pip uninstall --yes --quiet setuptools \
    && /opt/camops/bin/pip uninstall --yes --quiet pip

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="camops" \
      org.opencontainers.image.description="Runs fleets of IP cameras on Kubernetes: operator, capture workers, drain and retention." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/camops/camops"
# The official python image ships pip in its system Python; the image needs none (camops has its venv).
RUN (python -m pip --version >/dev/null 2>&1 && python -m pip uninstall --yes --quiet pip setuptools wheel || true) \
    && rm -f /usr/local/bin/pip* \
    && groupadd --system --gid 10001 camops \
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
