# The llmkit gateway (`llmkit serve`) as an image: docker build -t llmkit-gateway .
#   docker run -p 8000:8000 llmkit-gateway                         # offline: the fake host
#   docker run -p 8000:8000 -v $PWD/llmkit.yaml:/etc/llmkit/llmkit.yaml -e GROQ_API_KEY ... \
#     llmkit-gateway serve --config /etc/llmkit/llmkit.yaml --host 0.0.0.0
# compose.yaml runs two replicas behind one port with Redis; docs/gateway.md has Kubernetes.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY llmkit ./llmkit
# server: starlette, uvicorn, prometheus-client, redis; cli: PyYAML for the configuration file
RUN pip install '.[server,cli]' && useradd --create-home --uid 10001 llmkit
USER llmkit
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/liveness', timeout=2)"
# SIGTERM drains streams in flight for server.drain_seconds (default 30) before exiting
STOPSIGNAL SIGTERM
ENTRYPOINT ["llmkit"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
