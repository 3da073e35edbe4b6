# netpatrol for `docker compose` (the scalable `worker` service): Debian's Python, Chromium and a CJK font.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
ENV NETPATROL_CHROMIUM=/usr/lib/chromium/chromium
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crawler crawler
COPY pipelines pipelines
COPY config config
RUN pip install --no-cache-dir .
ENTRYPOINT ["netpatrol"]
