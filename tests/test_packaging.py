"""`pip install .` from a clean clone, into a throwaway virtualenv, with no npm step: the
app refuses to start in one line; after `npm ci` the installed app serves working pages
with Leaflet, reading nothing from the checkout. About a minute (a real pip install)."""
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from mapping.core.config import PROJECT_ROOT
from tests.conftest import free_port

pytestmark = pytest.mark.install


def run(*command, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """The working tree as a fresh clone has it: no node_modules/, .venv/ or var/."""
    target = tmp_path_factory.mktemp("clone")
    files = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                cwd=PROJECT_ROOT).stdout.split("\0")
    for name in filter(None, files):
        source = PROJECT_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target / "node_modules").exists()
    return target


@pytest.fixture(scope="module")
def venv(tmp_path_factory, clone):
    """A virtualenv with `pip install .` run in the clone, as a newcomer would."""
    path = tmp_path_factory.mktemp("venv")
    assert run("python3", "-m", "venv", path, cwd=path).returncode == 0
    installed = run(path / "bin" / "pip", "install", "-q", clone, cwd=path)
    assert installed.returncode == 0, installed.stderr
    return path


def environment(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The form a hosting provider hands out.
    env["DATABASE_URL"] = database_url.replace("postgresql+psycopg://", "postgres://")
    return env


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_without_npm_the_installed_app_refuses_to_start_in_one_line(venv, database_url):
    result = run(venv / "bin" / "assetmap", "serve", "--port", free_port(), cwd=venv,
                 env=environment(database_url), timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "front-end packages are missing (leaflet, leaflet.markercluster)" in lines[0]
    assert "npm ci" in lines[0]


def test_after_npm_ci_the_installed_app_serves_pages_and_leaflet(venv, clone, database_url):
    # What `npm ci` puts there, without fetching it again.
    shutil.copytree(PROJECT_ROOT / "node_modules", clone / "node_modules")
    reinstalled = run(venv / "bin" / "pip", "install", "-q", "--no-deps", "--force-reinstall",
                      clone, cwd=venv)
    assert reinstalled.returncode == 0, reinstalled.stderr
    shutil.rmtree(clone)  # the installed app must need nothing from a checkout
    where = run(venv / "bin" / "python", "-c", "import mapping; print(mapping.__file__)",
                cwd=venv, env=environment(database_url))
    assert where.stdout.startswith(str(venv)), where

    port = free_port()
    server = subprocess.Popen([str(venv / "bin" / "assetmap"), "serve", "--port", str(port)],
                              cwd=venv, env=environment(database_url),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page = get(base + "/")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the installed app did not answer"
                time.sleep(0.3)
        assert status == 200, page[:2000]
        assert get(base + "/wards")[0] == 200
        files = set(re.findall(r'(?:src|href)="(/(?:vendor|static)/[^"]+)"', page.decode()))
        assert any(path.endswith("/leaflet.js") for path in files), files
        for path in files:
            status, body = get(base + path)
            assert status == 200 and body, path
            if path.endswith("/leaflet.js"):
                assert b"Leaflet" in body[:500]
    finally:
        server.terminate()
        server.wait(timeout=30)
