"""Bringing one instance up: config checked and rendered, prompts, PostgreSQL, Asterisk."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acd.quality_config import QualityConfig, load_quality
from acd.queues import QueuesConfig, load_queues
from acd.roster import Roster, load_roster
from acd.topic_config import TopicsConfig, load_topics
from acd.work_order_config import WorkOrdersConfig, load_work_orders
from hotline import REPO_ROOT
from hotline.citizens import refuse_demo_outside_dev
from hotline.config_files import ConfigError
from hotline.controller import AppliedCenter, ControllerConfig
from hotline.provision import asterisk, postgres, prompts, render
from hotline.provision.asterisk import Progress
from hotline.provision.secrets import Secrets, load_or_create
from hotline.sessions import SessionPolicy
from hotline.settings import CACHE_DIR, Settings
from hotline.store import migrate
from hotline.store.spool import MB, SpoolLimits
from ivr.hours import BusinessHours, load_hours
from ivr.menu import Menu, load_menu
from ivr.prompts import PromptManifest, load_manifest
from ivr.speech import PROMPT_TEXT

MANIFEST = REPO_ROOT / "sounds" / "prompts.yaml"
OVERRIDES = REPO_ROOT / "sounds" / "overrides"


@dataclass(frozen=True)
class CenterConfig:
    """Everything ops edit, validated together."""

    roster: Roster
    hours: BusinessHours
    menu: Menu
    manifest: PromptManifest
    queues: QueuesConfig
    work_orders: WorkOrdersConfig
    quality: QualityConfig
    topics: TopicsConfig


def load_center(config_dir: Path, manifest_file: Path = MANIFEST) -> CenterConfig:
    """Load and check every file ops edit; all problems are reported at once."""
    problems: list[str] = []
    results: dict[str, object] = {}
    for name, loader in (
        ("roster", lambda: load_roster(config_dir)),
        ("hours", lambda: load_hours(config_dir)),
        ("manifest", lambda: load_manifest(manifest_file)),
        ("quality", lambda: load_quality(config_dir)),
        ("topics", lambda: load_topics(config_dir)),
    ):
        try:
            results[name] = loader()
        except ConfigError as exc:
            problems += exc.problems
    manifest = results.get("manifest")
    prompt_ids = set(PROMPT_TEXT)
    if isinstance(manifest, PromptManifest):
        prompt_ids |= set(manifest.prompts)
    hours = results.get("hours")
    duties = set(hours.duty) if isinstance(hours, BusinessHours) else None
    later: tuple[tuple[str, Callable[[], object]], ...] = (
        ("menu", lambda: load_menu(config_dir / "menu.yaml", prompt_ids)),
        ("queues", lambda: load_queues(config_dir, prompt_ids, duties)),
        ("work_orders", lambda: load_work_orders(config_dir, prompt_ids)),
    )
    for name, load in later:
        try:
            results[name] = load()
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return CenterConfig(**results)  # type: ignore[arg-type]


@dataclass
class Instance:
    """A prepared instance: what the controller and the tests need to reach it."""

    settings: Settings
    center: CenterConfig
    secrets: Secrets
    database_url: str | None = None
    asterisk_proc: subprocess.Popen[bytes] | None = None
    started_postgres: bool = False

    def controller_config(self) -> ControllerConfig:
        """The controller's view of this instance; refuses demo data outside dev and test."""
        s = self.settings
        refuse_demo_outside_dev(s.instance, s.allow_demo_citizens)
        return ControllerConfig(
            ari_url=s.ari_url or f"http://{s.management_url_host}:{s.ports.ari}",
            ari_user=self.secrets.ari_user,
            ari_password=self.secrets.ari_password,
            app=s.ari_app,
            ami_host=s.management_host,
            ami_port=s.ports.ami,
            ami_user=self.secrets.ami_user,
            ami_password=self.secrets.ami_password,
            database_url=self.database_url,
            http_host=s.management_address,
            http_port=s.ports.http,
            sounds_dir=s.asterisk_dir / "sounds",
            spool_dir=s.state / "journal",
            spool_limits=SpoolLimits(
                max_bytes=s.journal_max_spool_mb * MB, min_free_bytes=s.journal_min_free_mb * MB
            ),
            menu=self.center.menu,
            hours=self.center.hours,
            api_token=self.secrets.api_token,
            agent_pins=dict(self.secrets.agent_pins),
            queues=self.center.queues,
            roster=self.center.roster,
            recordings_dir=s.asterisk_dir / "spool" / "monitor",
            host_root=s.root,
            apply_center=self.reapply,
            # Look-ups and identity checks scale with calls; PostgreSQL's 100 connections
            # are shared with everything else.
            db_pool_size=max(5, min(30, s.channels // 100)),
            max_callers=s.callers_limit,
            state_dir=s.state,
            web_access=SessionPolicy(
                idle_seconds=s.session_idle_minutes * 60,
                max_seconds=s.session_max_hours * 3600,
                cookie_secure=s.cookie_secure,
                instance=s.instance,
            ),
            work_orders=self.center.work_orders,
            quality=self.center.quality,
            topics=self.center.topics,
            sms_file=s.state / "sms.jsonl",
            config_dir=s.config_dir,
        )

    def reapply(self) -> AppliedCenter:
        """Re-read what ops edit; if valid, re-render Asterisk's config and prompts."""
        center = load_center(self.settings.config_dir)
        self.secrets = load_or_create(
            self.settings.state / "secrets.json", (a.number for a in center.roster.agents)
        )
        render_instance(self.settings, center, self.secrets, lambda _m: None)
        self.center = center
        return AppliedCenter(
            menu=center.menu,
            hours=center.hours,
            queues=center.queues,
            roster=center.roster,
            agent_pins=dict(self.secrets.agent_pins),
            work_orders=center.work_orders,
            quality=center.quality,
            topics=center.topics,
        )


def prepare(settings: Settings, progress: Progress) -> Instance:
    """Everything but starting processes: config, secrets, rendered files, prompts."""
    refuse_demo_outside_dev(settings.instance, settings.allow_demo_citizens)  # before any work
    center = load_center(settings.config_dir)
    secrets = load_or_create(
        settings.state / "secrets.json", (a.number for a in center.roster.agents)
    )
    asterisk.ensure_root(settings, progress)
    render_instance(settings, center, secrets, progress)
    return Instance(settings=settings, center=center, secrets=secrets)


def render_instance(
    settings: Settings, center: CenterConfig, secrets: Secrets, progress: Progress
) -> None:
    """Write Asterisk's config and the prompt recordings into the instance folder."""
    inst = asterisk.prepare_instance(settings)
    files = render.render(
        render.RenderInput(
            inst=settings.asterisk_dir,
            sip_address=settings.sip_address,
            management_address=settings.management_address,
            ports=settings.ports,
            secrets=secrets,
            roster=center.roster,
            hours=center.hours,
            app=settings.ari_app,
            language=settings.language,
            trunk_contact=settings.trunk_contact,
            channels=settings.channels,
        )
    )
    render.write(files, inst / "etc")
    made = prompts.build(center.manifest, inst / "sounds", CACHE_DIR / "prompts", OVERRIDES)
    if made:
        progress(f"generated {made} prompt recordings")


def start_services(instance: Instance, progress: Progress) -> None:
    """Start PostgreSQL (unless DATABASE_URL is given), migrate, start or reload Asterisk."""
    s = instance.settings
    if s.database_url:
        instance.database_url = s.database_url
    else:
        instance.database_url = postgres.ensure_running(s, instance.secrets.pg_password, progress)
        instance.started_postgres = True
    migrate.upgrade(instance.database_url)
    asterisk.ensure_mounts(s.root)
    if asterisk.is_running(s):
        progress("Asterisk already running: reloading its configuration")
        asterisk.cli(s, "core reload")
    else:
        instance.asterisk_proc = asterisk.start(s, progress)


def stop_services(instance: Instance) -> None:
    """Stop what start_services started."""
    asterisk.stop(instance.settings, instance.asterisk_proc)
    if instance.started_postgres:
        postgres.stop(instance.settings)


def controller_instance(settings: Settings) -> Instance:
    """What the controller alone needs: checked config, secrets and the database URL."""
    center = load_center(settings.config_dir)
    secrets = load_or_create(
        settings.state / "secrets.json", (a.number for a in center.roster.agents)
    )
    url = settings.database_url or postgres.database_url(settings, secrets.pg_password)
    return Instance(settings=settings, center=center, secrets=secrets, database_url=url)
