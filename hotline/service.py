"""`hotline service install`: systemd units for one instance on a plain Debian box.

Three services and a target, as in docker-compose.yml: Asterisk (in its chroot, root inside
it), the private PostgreSQL (as `postgres`, unless HOTLINE_DATABASE_URL names another
database) and the controller (as a dedicated system user). systemd restarts each one that
dies; logs go to the journal. Templates: hotline/systemd/*.j2.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from hotline import REPO_ROOT
from hotline.provision.asterisk import Progress, ProvisionError
from hotline.settings import Settings

TEMPLATES = Path(__file__).parent / "systemd"
UNIT_DIR = Path("/etc/systemd/system")
TMPFILES_DIR = Path("/etc/tmpfiles.d")


@dataclass(frozen=True)
class Rendered:
    """One file to install: where it goes and what it holds."""

    path: Path
    text: str
    mode: int = 0o644


def unit_names(instance: str) -> dict[str, str]:
    """The units' names for an instance."""
    base = f"hotline-{instance}"
    return {
        "target": f"{base}.target",
        "asterisk": f"{base}-asterisk.service",
        "postgres": f"{base}-postgres.service",
        "controller": f"{base}-controller.service",
    }


def _pg_bin() -> Path:
    """The newest installed server's binaries (what `hotline start` runs too)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


def render(
    settings: Settings,
    user: str,
    unit_dir: Path = UNIT_DIR,
    tmpfiles_dir: Path = TMPFILES_DIR,
    hotline_bin: Path = REPO_ROOT / ".venv" / "bin" / "hotline",
) -> list[Rendered]:
    """The unit files (and the files beside them) for settings' instance."""
    names = unit_names(settings.instance)
    private_db = settings.database_url is None
    parts = [names["asterisk"], *([names["postgres"]] if private_db else []), names["controller"]]
    env_file = settings.state / "service.env"
    context = {
        "instance": settings.instance,
        "target": names["target"],
        "parts": parts,
        "needs": [p for p in parts if p != names["controller"]],
        "user": user,
        "state": settings.state,
        "config_dir": settings.config_dir.resolve(),
        "asterisk_root": settings.root,
        "chroot": settings.root != Path("/"),
        "asterisk_dir": settings.asterisk_dir,
        "asterisk_instance_on_host": settings.on_host(settings.asterisk_dir),
        "pg_bin": _pg_bin(),
        "pg_dir": settings.pg_dir,
        "pg_port": settings.ports.pg,
        "hotline_bin": hotline_bin,
        "cache_name": f"hotline-{settings.instance}",
        "database_url_file": None if private_db else env_file,
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )

    def text(template: str) -> str:
        return env.get_template(template).render(context)

    files = [
        Rendered(unit_dir / names["target"], text("hotline.target.j2")),
        Rendered(unit_dir / names["asterisk"], text("asterisk.service.j2")),
        Rendered(unit_dir / names["controller"], text("controller.service.j2")),
    ]
    if private_db:
        files.append(Rendered(unit_dir / names["postgres"], text("postgres.service.j2")))
        files.append(
            Rendered(tmpfiles_dir / f"hotline-{settings.instance}.conf", text("tmpfiles.conf.j2"))
        )
    else:
        # The URL holds a password: read by systemd (root) only, never in a unit file.
        files.append(Rendered(env_file, f"HOTLINE_DATABASE_URL={settings.database_url}\n", 0o600))
    return files


def write(files: list[Rendered]) -> None:
    """Write each file (mode set before any content)."""
    for f in files:
        f.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, f.mode)
        os.fchmod(fd, f.mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f.text)


def _reachable_by_others(path: Path) -> bool:
    """Whether a user other than root can reach path (every folder above it searchable)."""
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents] if p.is_dir())


def _ensure_user(user: str, progress: Progress) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        pass
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "12333 hotline",
            user,
        ],
        check=True,
    )
    progress(f"created the system user {user}")
    return pwd.getpwnam(user)


def _own(path: Path, entry: pwd.struct_passwd) -> None:
    """Hand path and everything below it to the service user."""
    for p in [path, *path.rglob("*")]:
        os.lchown(p, entry.pw_uid, entry.pw_gid)


def install(settings: Settings, user: str, progress: Progress) -> list[Path]:
    """Provision the instance, make the user, hand it its folders, install and load the units."""
    from hotline.instance import prepare
    from hotline.provision import asterisk, postgres

    if os.geteuid() != 0:
        raise ProvisionError("installing systemd units needs root")
    if shutil.which("systemctl") is None:
        raise ProvisionError("systemctl not found: this is for a machine run by systemd")
    for needed in (REPO_ROOT, settings.root, settings.config_dir):
        if not _reachable_by_others(needed.resolve()):
            raise ProvisionError(
                f"{needed} is not reachable by the user {user} (a folder above it is closed, "
                "e.g. /root): clone to /opt/hotline and set HOTLINE_ASTERISK_ROOT outside /root"
            )
    instance = prepare(settings, progress)  # the chroot, rendered config, prompts
    asterisk.ensure_mounts(settings.root)  # also writes the chroot's /etc/hosts
    if settings.database_url is None:
        # The cluster, its role and database, made once; then systemd runs it.
        postgres.ensure_running(settings, instance.secrets.pg_password, progress)
        postgres.stop(settings)
    entry = _ensure_user(user, progress)
    inst = settings.on_host(settings.asterisk_dir)
    for owned in (settings.state, inst / "etc", inst / "sounds", inst / "spool" / "monitor"):
        _own(owned, entry)
    files = render(settings, user)
    write(files)
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    if settings.database_url is None:
        subprocess.run(["systemd-tmpfiles", "--create", str(files[-1].path)], check=False)
    return [f.path for f in files]


def run(
    settings: Settings, user: str, output: Path | None, dry_run: bool, progress: Progress
) -> int:
    """`hotline service install`: print (--dry-run), write into a folder (--output) or install."""
    if not dry_run and output is None:
        for path in install(settings, user, progress):
            progress(f"installed {path}")
        target = unit_names(settings.instance)["target"]
        print(f"systemctl enable --now {target}   # start it now and at boot")
        return 0
    for f in render(
        settings, user, unit_dir=output or UNIT_DIR, tmpfiles_dir=output or TMPFILES_DIR
    ):
        if f.mode & 0o077 == 0:
            progress(f"{f.path}: not shown (it holds the database password)")
            continue
        if output is not None:
            write([f])
            print(f.path)
        else:
            print(f"# {f.path}\n{f.text}")
    return 0
