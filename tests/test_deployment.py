"""docker-compose.yml and the Dockerfile agree with the app (CI has no Docker engine, so
the file is parsed and checked rather than run)."""
import re

import yaml

from mapping.cli import gunicorn_command
from mapping.core.config import ENVIRONMENT_VARIABLES, PROJECT_ROOT


def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_compose_has_postgis_migrate_and_app_with_healthchecks():
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "app"}
    assert services["db"]["image"].startswith("postgis/postgis:")
    assert "healthcheck" in services["db"] and "healthcheck" in services["app"]
    assert "/healthz" in " ".join(services["app"]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["assetmap", "db", "upgrade"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_keeps_the_database_in_a_named_volume():
    document = compose()
    volume = document["services"]["db"]["volumes"][0].split(":")[0]
    assert volume in document["volumes"]


def test_compose_environment_is_what_the_app_reads():
    services = compose()["services"]
    for name in ("migrate", "app"):
        environment = services[name]["environment"]
        assert set(environment) <= set(ENVIRONMENT_VARIABLES), name
        url = environment["DATABASE_URL"]
        assert re.match(r"postgresql://assetmap:\$\{POSTGRES_PASSWORD\}@db:5432/assetmap$", url)
    db_env = services["db"]["environment"]
    assert db_env["POSTGRES_DB"] == "assetmap" and db_env["POSTGRES_USER"] == "assetmap"


def test_dockerfile_serves_the_wsgi_app_the_cli_serves():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'CMD ["assetmap", "serve", "--host", "0.0.0.0", "--port", "5000"' in dockerfile
    for package in ("mapping", "layers", "importers", "templates", "static"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "USER assetmap" in dockerfile  # not root in production
    command = gunicorn_command("0.0.0.0", 5000, 2)
    assert command[-1] == "mapping.wsgi:app"
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert command[command.index("--bind") + 1] == "0.0.0.0:5000"
