# The app image for docker-compose.yml: gunicorn serving the app, as `assetmap serve` runs it.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml setup.cfg setup.py MANIFEST.in README.md ./
COPY mapping ./mapping
COPY layers ./layers
COPY importers ./importers
COPY templates ./templates
COPY static ./static
# The district's open reference data, which `assetmap demo` loads (data/LICENCES).
COPY data ./data
COPY package.json package-lock.json .npmrc ./
RUN pip install --no-cache-dir -e . \
 && npm ci --omit=dev --no-audit --no-fund

RUN useradd --system --home /app assetmap
USER assetmap
EXPOSE 5000
# The same gunicorn settings as `assetmap serve` everywhere (mapping/cli.py: gunicorn_command).
CMD ["assetmap", "serve", "--host", "0.0.0.0", "--port", "5000", "--workers", "2"]
