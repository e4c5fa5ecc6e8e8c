"""A private PostgreSQL + PostGIS cluster under var/, used when DATABASE_URL is unset.

PostgreSQL refuses to run as root, so when the caller is root the cluster belongs to
the unprivileged `postgres` user and every server command runs through `runuser`.
Otherwise it runs as the caller. It listens on 127.0.0.1 only, on its own port.
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

SUPERUSER = "assetmap"
DATABASE = "assetmap"
SERVICE_USER = "postgres"


class EmbeddedError(RuntimeError):
    """The embedded cluster cannot be created or started; the message says what to do."""


def _bindir() -> Path:
    configured = os.environ.get("PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if candidates:
        return Path(candidates[-1])
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise EmbeddedError(
        "PostgreSQL server binaries were not found. Install them with:\n"
        "  sudo apt-get install -y postgresql postgresql-15-postgis-3\n"
        "or set DATABASE_URL to an existing PostGIS database."
    )


def _check_postgis(bindir: Path) -> None:
    pg_config = shutil.which("pg_config") or str(bindir / "pg_config")
    try:
        sharedir = subprocess.run([pg_config, "--sharedir"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        sharedir = str(Path("/usr/share/postgresql") / bindir.parent.name)
    if not glob.glob(os.path.join(sharedir, "extension", "postgis.control")):
        version = bindir.parent.name
        raise EmbeddedError(
            f"PostGIS is not installed for PostgreSQL {version}. Install it with:\n"
            f"  sudo apt-get install -y postgresql-{version}-postgis-3"
        )


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    if _as_root():
        args = ["runuser", "-u", SERVICE_USER, "--"] + args
    kwargs.setdefault("check", False)  # callers read the return code and say what failed
    return subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: PLW1510


def _service_user_can_use(path: Path) -> bool:
    probe = subprocess.run(["runuser", "-u", SERVICE_USER, "--", "test", "-w", str(path)],
                           capture_output=True, check=False)
    return probe.returncode == 0


def data_dir(var_dir: Path) -> Path:
    """Where the cluster lives: var/pgdata, or where var/pgdata links to when the checkout
    is somewhere the postgres user cannot reach."""
    return (Path(var_dir) / "pgdata").resolve()


def _prepare_dirs(var_dir: Path) -> Path:
    var_dir.mkdir(parents=True, exist_ok=True)
    return _cluster_directory(var_dir / "pgdata")


def _cluster_directory(target: Path) -> Path:
    """A directory for a cluster at `target` that the server's user can write: `target`
    itself, or (root's checkout being out of the postgres user's reach, say under /root)
    a directory in /var/tmp named after it, which `target` then links to."""
    if target.exists():
        return target.resolve()
    if not _as_root():
        target.mkdir(mode=0o700)
        return target
    import pwd

    entry = pwd.getpwnam(SERVICE_USER)
    os.chown(target.parent, entry.pw_uid, entry.pw_gid)
    if _service_user_can_use(target.parent):
        target.mkdir(mode=0o700)
        os.chown(target, entry.pw_uid, entry.pw_gid)
        return target
    digest = hashlib.sha1(str(target.resolve()).encode()).hexdigest()[:10]
    outside = Path("/var/tmp") / ("assetmap-pg-" + digest)
    outside.mkdir(mode=0o700, exist_ok=True)
    os.chown(outside, entry.pw_uid, entry.pw_gid)
    if target.is_symlink():
        target.unlink()
    target.symlink_to(outside)
    return outside


def _initialised(pgdata: Path) -> bool:
    return (pgdata / "PG_VERSION").exists()


def _init_cluster(bindir: Path, pgdata: Path, port: int) -> None:
    result = _run([str(bindir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "-A", "trust",
                   "-E", "UTF8", "--locale=C.UTF-8"])
    if result.returncode != 0:
        raise EmbeddedError("initdb failed:\n" + result.stdout + result.stderr)
    settings = (
        "\n# assetmap embedded cluster\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {port}\n"
        "unix_socket_directories = ''\n"
        "max_connections = 200\n"
        "shared_buffers = 256MB\n"
        "work_mem = 16MB\n"
        "maintenance_work_mem = 256MB\n"
        # A development cluster: losing the last few commits in a crash is acceptable,
        # corrupting the cluster is not, so only synchronous_commit is relaxed.
        "synchronous_commit = off\n"
        "max_wal_size = 2GB\n"
        "log_min_messages = warning\n"
    )
    conf = pgdata / "postgresql.conf"
    if _as_root():
        _run(["sh", "-c", f"cat >> '{conf}'"], input=settings, check=True)
    else:
        with open(conf, "a") as handle:
            handle.write(settings)


def is_running(var_dir: Path) -> bool:
    pgdata = data_dir(var_dir)
    if not _initialised(pgdata):
        return False
    result = _run([str(_bindir() / "pg_ctl"), "status", "-D", str(pgdata)])
    return result.returncode == 0


def url(port: int, database: str = DATABASE) -> str:
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _create_database(port: int) -> None:
    from sqlalchemy.exc import OperationalError

    from mapping.core import db

    # The server may take a moment after `pg_ctl start` to accept connections.
    deadline = time.monotonic() + 30
    while True:
        try:
            db.create_database_if_missing(url(port))
            return
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ensure_running(var_dir: Path, port: int) -> str:
    """Create and start the cluster if needed; return its SQLAlchemy URL."""
    var_dir = Path(var_dir)
    bindir = _bindir()
    pgdata = _prepare_dirs(var_dir)
    if not _initialised(pgdata):
        _check_postgis(bindir)
        _init_cluster(bindir, pgdata, port)
    if not is_running(var_dir):
        _check_postgis(bindir)
        log = pgdata / "server.log"
        result = _run([str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(pgdata),
                       "-l", str(log), "-o", f"-p {port}"])
        if result.returncode != 0:
            tail = ""
            try:
                tail = _run(["tail", "-20", str(log)]).stdout
            except OSError:
                pass
            raise EmbeddedError(f"the embedded PostgreSQL did not start:\n{result.stderr}{tail}")
    _create_database(port)
    return url(port)


def stop(var_dir: Path) -> bool:
    """Stop the cluster; False when it was not running."""
    var_dir = Path(var_dir)
    if not is_running(var_dir):
        return False
    result = _run([str(_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D",
                   str(data_dir(var_dir))])
    if result.returncode != 0:
        raise EmbeddedError("pg_ctl stop failed:\n" + result.stderr)
    return True


def start_replica(primary_port: int, replica_dir: Path, port: int) -> str:
    """Make a streaming replica of the cluster on `primary_port` in `replica_dir`, start it
    on `port`, and return its URL. For trying DATABASE_REPLICA_URL on one machine."""
    bindir = _bindir()
    Path(replica_dir).parent.mkdir(parents=True, exist_ok=True)
    replica_dir = _cluster_directory(Path(replica_dir))
    result = _run([str(bindir / "pg_basebackup"), "-D", str(replica_dir), "-h", "127.0.0.1",
                   "-p", str(primary_port), "-U", SUPERUSER, "-X", "stream", "-R",
                   "--checkpoint=fast"])
    if result.returncode != 0:
        raise EmbeddedError("pg_basebackup failed:\n" + result.stderr)
    result = _run([str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(replica_dir),
                   "-l", str(replica_dir / "server.log"), "-o", f"-p {port}"])
    if result.returncode != 0:
        raise EmbeddedError("the replica did not start:\n" + result.stderr)
    return url(port)


def stop_directory(pgdata: Path) -> None:
    """Stop whatever cluster runs in `pgdata` (a replica made by start_replica)."""
    _run([str(_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(Path(pgdata).resolve())])


def destroy(var_dir: Path) -> None:
    """Stop the cluster and delete its data, wherever it lives (tests' throwaway clusters)."""
    var_dir = Path(var_dir)
    if is_running(var_dir):
        stop(var_dir)
    link = var_dir / "pgdata"
    shutil.rmtree(data_dir(var_dir), ignore_errors=True)
    if link.is_symlink():
        link.unlink()
