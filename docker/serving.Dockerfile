# syntax=docker/dockerfile:1
# The serving image: the online scorer alone (studio/serving/ + the bundle loader and transform kernels).
# No pyspark, no Django, no Java, no scikit-learn or pandas: `pip install --no-deps` of the project and only the
# libraries the scorer imports. Built from the repository root: docker build -f docker/serving.Dockerfile .
FROM python:3.11.11-slim-bookworm AS python
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install "numpy>=1.26,<3" "scipy>=1.11,<2" "lightgbm>=4.3,<5" "pydantic>=2.7,<3" \
       "orjson>=3.9,<4" "starlette>=0.37,<2" "uvicorn>=0.29,<1" "uvloop>=0.19,<1" "httptools>=0.6,<1" \
       "prometheus-client>=0.20,<1" "pyarrow>=15,<30" "boto3>=1.34,<2" "redis>=5,<9"
COPY pyproject.toml README.md /src/
COPY operators /src/operators
COPY pipelines /src/pipelines
COPY studio /src/studio
RUN /opt/venv/bin/pip install --no-deps /src

FROM python:3.11.11-slim-bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 serving && mkdir -p /data && chown serving:serving /data
COPY --from=python /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 STUDIO_DATA_DIR=/data SERVING_HOST=0.0.0.0 SERVING_PORT=8001
USER serving
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/v2/health/ready', timeout=2)"
ENTRYPOINT ["tini", "--"]
CMD ["python", "-m", "studio.serving"]
