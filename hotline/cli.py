"""`hotline`: start, stop and inspect the hotline; check the config ops edit."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import uvloop
from pydantic import ValidationError

from hotline import accounts_cli, logfile, logs, ownership, reports_cli, work_orders_cli
from hotline.backup import BackupError
from hotline.config_files import ConfigError
from hotline.provision.asterisk import PRIVATE_UMASK, ProvisionError
from hotline.settings import Settings, load_settings

# `hotline controller` while another controller runs for the instance: nothing started.
CONTROLLER_ALREADY_RUNNING = 4


def _progress(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(instance=getattr(args, "instance", None))


def _how_to_call(settings: Settings) -> None:
    from hotline.instance import load_center
    from hotline.provision.secrets import load_or_create

    center = load_center(settings.config_dir)
    secrets = load_or_create(
        settings.state / "secrets.json", (a.number for a in center.roster.agents)
    )
    p = settings.ports
    print(f"""
12333 hotline is running (instance {settings.instance}).
  Call it (the carrier trunk, unauthenticated from 127.0.0.1 in this profile):
      sipp -sn uac -s 12333 -m 1 -d 20000 {settings.sip_address}:{p.sip}
      or a softphone dialling sip:12333@{settings.sip_address}:{p.sip}
  Agents' desk phones (register to {settings.sip_address}:{p.sip}, user / password / PIN
  for *61 工号 * PIN at any desk phone):""")
    for agent in center.roster.agents:
        password, pin = secrets.agent_passwords[agent.number], secrets.agent_pins[agent.number]
        print(f"      {agent.number} / {password} / {pin}   {agent.name}")
    print(
        f"""  Health and metrics: http://{settings.management_url_host}:{p.http}/health  /metrics
  Logs: {settings.state}/hotline.log and controller.log (detached)
  Asterisk's logs: {settings.on_host(settings.asterisk_dir)}/log
  Stop: Ctrl-C, or `hotline stop`.
""",
        flush=True,
    )


def cmd_start(args: argparse.Namespace) -> int:
    """Start the instance under its supervisor; a running instance is left as it is (exit 0)."""
    from hotline import lifecycle

    settings = _settings(args)
    owner = lifecycle.supervisor_pid(settings)
    if owner is not None:
        print(
            f"instance {settings.instance} is already running (supervisor pid {owner}); "
            "nothing changed",
            file=sys.stderr,
        )
        return 0
    if args.detach:
        return _start_detached(settings)
    if args.log_file:
        logfile.redirect_output(Path(args.log_file))
    logs.configure(settings.log_format)
    print(f"Starting the 12333 hotline (instance {settings.instance})", file=sys.stderr)
    # Detached, the controller logs to a rotating file of its own: the supervisor's log is
    # a pipe that would break under it if the supervisor died.
    controller_log = settings.state / "controller.log" if args.log_file else None
    code = lifecycle.serve(settings, _progress, lambda: _how_to_call(settings), controller_log)
    print("Stopped.", file=sys.stderr)
    return code


def _start_detached(settings: Settings) -> int:
    from hotline import lifecycle

    settings.state.mkdir(parents=True, exist_ok=True)
    log_path = settings.state / "hotline.log"
    log = logfile.open_log(log_path)  # until the child redirects itself into the rotating log
    try:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "hotline.cli", "start", "--instance", settings.instance),
                *("--log-file", str(log_path)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        os.close(log)
    print(f"starting in the background (pid {proc.pid}, log {log_path})", file=sys.stderr)
    deadline = time.monotonic() + 900  # the first start may build the Asterisk chroot
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            owner = lifecycle.supervisor_pid(settings)
            if owner is not None:  # another start won the race for the lock
                print(
                    f"instance {settings.instance} is already running (supervisor pid "
                    f"{owner}); nothing changed",
                    file=sys.stderr,
                )
                return 0
            tail = log_path.read_text(errors="replace").splitlines()[-20:]
            print("\n".join(tail), file=sys.stderr)
            print(f"error: hotline exited with {proc.returncode}; see {log_path}", file=sys.stderr)
            return 1
        health = lifecycle.health(settings)
        if health and health.get("ari_connected"):
            _how_to_call(settings)
            return 0
        time.sleep(0.5)
    print("error: not ready after 15 minutes; see the log", file=sys.stderr)
    return 1


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop every process of the instance, whoever started it, and say which."""
    from hotline import lifecycle

    settings = _settings(args)
    stopped = lifecycle.stop(settings, lambda m: print(m, file=sys.stderr))
    print("stopped: " + ", ".join(stopped) if stopped else "not running", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Parts, pids, uptime and restarts; exit 0 only when everything is up and connected."""
    from hotline import lifecycle

    settings = _settings(args)
    report = lifecycle.status(settings)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    parts = report["parts"]
    health = report["controller"]
    up = bool(parts) and all(p["up"] for p in parts.values())
    return 0 if up and health and health.get("ari_connected") else 3


def cmd_restart(args: argparse.Namespace) -> int:
    """`--controller`: new controller, same Asterisk, calls kept; else stop and start."""
    from hotline import lifecycle

    settings = _settings(args)

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    if args.controller:
        return 0 if lifecycle.restart_controller(settings, say) else 1
    stopped = lifecycle.stop(settings, say)
    say("stopped: " + ", ".join(stopped) if stopped else "was not running")
    return _start_detached(settings)


def cmd_controller(args: argparse.Namespace) -> int:
    """The controller alone, against an instance whose Asterisk and database already run."""
    from hotline import controller_process
    from hotline.instance import controller_instance

    settings = _settings(args)
    # The supervisor nudges the controller with SIGUSR1 when Asterisk is back; until
    # controller_process.run listens for it, it must not end the process.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        lock = ownership.acquire(settings.state / ownership.CONTROLLER_LOCK)
    except ownership.Held as held:
        print(
            f"a controller already runs for instance {settings.instance} (pid {held.pid}); "
            "nothing started",
            file=sys.stderr,
        )
        return CONTROLLER_ALREADY_RUNNING
    if args.log_file:
        logfile.redirect_output(Path(args.log_file))
    logs.configure(settings.log_format)
    try:
        # uvloop: the controller's work is sockets (ARI, AMI, PostgreSQL, HTTP); libuv's loop
        # does a socket's reads and writes in C (#9: the controller's CPU a call).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(controller_process.run(controller_instance(settings).controller_config()))
    finally:
        lock.release()
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    """The slow, cached steps: the Asterisk chroot and the prompt recordings."""
    from hotline.instance import prepare

    prepare(_settings(args), _progress)
    return 0


def cmd_config_render(args: argparse.Namespace) -> int:
    """Render Asterisk's config and prompts only (containers: Asterisk runs elsewhere)."""
    from hotline.instance import load_center, render_instance
    from hotline.provision.secrets import load_or_create

    settings = _settings(args)
    center = load_center(settings.config_dir)
    secrets = load_or_create(
        settings.state / "secrets.json", (a.number for a in center.roster.agents)
    )
    render_instance(settings, center, secrets, _progress)
    # PostgreSQL's container reads its password from a file of its own.
    pg_file = settings.state / "pg_password"
    fd = os.open(pg_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.pg_password)
    print(f"rendered into {settings.on_host(settings.asterisk_dir)}")
    return 0


def cmd_config_apply(args: argparse.Namespace) -> int:
    """Validate locally, then have the running controller apply it (calls are kept)."""
    from hotline.instance import load_center
    from hotline.provision.secrets import load_or_create

    settings = _settings(args)
    center = load_center(settings.config_dir)  # ConfigError -> exit 2, nothing applied
    secrets = load_or_create(
        settings.state / "secrets.json", (a.number for a in center.roster.agents)
    )
    request = urllib.request.Request(
        f"http://{settings.management_url_host}:{settings.ports.http}/config/apply",
        method="POST",
        headers={"Authorization": f"Bearer {secrets.api_token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        problems = body.get("problems") or [body.get("error_id", f"HTTP {exc.code}")]
        print("not applied:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"error: the controller is not reachable ({exc}); is the hotline running?",
            file=sys.stderr,
        )
        return 1
    print(
        f"applied version {body['applied']}; {body['calls_in_progress']} calls in progress "
        "keep the version they started with"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations."""
    from hotline.instance import controller_instance
    from hotline.store import migrate

    url = controller_instance(_settings(args)).database_url
    assert url is not None
    migrate.upgrade(url)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Database, config ops edit and (--recordings) the audio, into one 0600 tar file."""
    from hotline.backup import run_backup

    output = Path(args.output) if args.output else None
    target = run_backup(_settings(args), output, args.recordings, _progress)
    print(target)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """A backup into this instance; refused while its controller runs (unless --force)."""
    from hotline.backup import run_restore

    settings = _settings(args)
    from hotline.lifecycle import health

    if health(settings) is not None and not args.force:
        print("error: the hotline is running: `hotline stop` first (or --force)", file=sys.stderr)
        return 1
    restored = run_restore(settings, Path(args.file), _progress)
    print("restored: " + ", ".join(f"{n} {what}" for what, n in restored.items()))
    return 0


def cmd_service_install(args: argparse.Namespace) -> int:
    """systemd units for this instance: printed, written into a folder, or installed."""
    from hotline import service

    output = Path(args.output) if args.output else None
    return service.run(_settings(args), args.user, output, args.dry_run, _progress)


def cmd_config_check(args: argparse.Namespace) -> int:
    import datetime as dt

    from hotline.instance import load_center
    from ivr.hours import calendar_warnings

    settings = _settings(args)
    center = load_center(settings.config_dir)
    print(
        f"ok: {len(center.menu.nodes)} menu nodes, {len(center.roster.agents)} agents, "
        f"{len(center.manifest.prompts)} prompts, {len(center.quality.items)} quality items "
        f"({settings.config_dir})"
    )
    today = center.hours.local_date(dt.datetime.now(dt.UTC))
    for warning in calendar_warnings(center.hours, today):
        print(f"warning: {settings.config_dir / 'hours.yaml'}: {warning}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="hotline", description="12333 hotline contact center")
    sub = top.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--instance", default=None, help="instance name (dev, test, ...)")
        return p

    start = add("start", "set up and run everything (foreground; Ctrl-C stops)")
    start.add_argument("--detach", action="store_true", help="return once calls are answered")
    # Set by --detach for the background process: its output into a size-bounded rotated log.
    start.add_argument("--log-file", default=None, help=argparse.SUPPRESS)
    start.set_defaults(func=cmd_start)
    add("stop", "stop every process of the instance").set_defaults(func=cmd_stop)
    add("status", "parts, pids, uptime, restarts").set_defaults(func=cmd_status)
    restart = add("restart", "stop and start again (detached)")
    restart.add_argument(
        "--controller", action="store_true", help="only the controller: calls stay up"
    )
    restart.set_defaults(func=cmd_restart)
    controller_cmd = add("controller", "run only the controller")
    controller_cmd.add_argument("--log-file", default=None, help="a rotating log file")
    controller_cmd.set_defaults(func=cmd_controller)
    add("provision", "build the cached Asterisk chroot and prompts").set_defaults(
        func=cmd_provision
    )
    config = add("config", "the configuration ops edit")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate every file ops edit")
    check.add_argument("--instance", default=None)
    check.set_defaults(func=cmd_config_check)
    rendering = config_sub.add_parser("render", help="render Asterisk's config and prompts only")
    rendering.add_argument("--instance", default=None)
    rendering.set_defaults(func=cmd_config_render)
    applying = config_sub.add_parser("apply", help="apply the config to the running hotline")
    applying.add_argument("--instance", default=None)
    applying.set_defaults(func=cmd_config_apply)
    add("migrate", "apply database migrations").set_defaults(func=cmd_migrate)
    service = add("service", "run the instance under systemd")
    service_sub = service.add_subparsers(dest="service_command", required=True)
    installing = service_sub.add_parser("install", help="provision, make the user, install units")
    installing.add_argument("--instance", default=None)
    installing.add_argument("--user", default="hotline", help="the controller's system user")
    installing.add_argument("--dry-run", action="store_true", help="print the units only")
    installing.add_argument("--output", default=None, help="write the units into this folder")
    installing.set_defaults(func=cmd_service_install)
    saving = add("backup", "database, config and recordings index into one tar file")
    saving.add_argument("--recordings", action="store_true", help="the audio files too")
    saving.add_argument("--output", default=None, help="file (default .local/<instance>/backups/)")
    saving.set_defaults(func=cmd_backup)
    restoring = add("restore", "put a backup back into this instance (stopped)")
    restoring.add_argument("file")
    restoring.add_argument("--force", action="store_true", help="even if the controller runs")
    restoring.set_defaults(func=cmd_restore)
    reports_cli.register(add)
    accounts_cli.register(add)
    work_orders_cli.register(add)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point; config and provisioning problems exit with a clear message."""
    # One place for every hotline process (start, --detach's log, controller, render).
    os.umask(PRIVATE_UMASK)
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print("configuration errors:\n  " + "\n  ".join(exc.problems), file=sys.stderr)
        return 2
    except ValidationError as exc:  # HOTLINE_* settings (environment or hotline.env)
        problems = [
            f"{'.'.join(map(str, e['loc'])) or '(settings)'}: {e['msg']}" for e in exc.errors()
        ]
        print("settings errors:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    except (ProvisionError, BackupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
