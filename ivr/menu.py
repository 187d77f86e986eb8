"""The menu tree that ops staff edit (dialplan/menu.yaml), validated as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotline.config_files import ConfigError, LocatedYaml

KEYS = set("0123456789*#")


Service = Literal["pension", "medical", "payment", "card", "case", "referral", "voicemail"]


class Option(BaseModel):
    """What one key does: exactly one of goto, queue, service, hangup (+ language)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    goto: str | None = None
    queue: str | None = None
    service: Service | None = None
    transfer: str | None = Field(
        default=None,
        pattern=r"^[0-9]{3,20}$",
        description="another department's number, via the trunk",
    )
    hangup: bool = False
    language: Literal["zh", "en"] | None = None
    then: str | None = Field(default=None, description="after a service: this node, else back")

    @model_validator(mode="after")
    def _one_target(self) -> Option:
        targets = [
            self.goto is not None,
            self.queue is not None,
            self.service is not None,
            self.transfer is not None,
            self.hangup,
        ]
        if sum(targets) != 1:
            raise ValueError(
                "an option needs exactly one of goto, queue, service, transfer or hangup"
            )
        return self


class Referral(BaseModel):
    """Another department's hotline, read out by the referral service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str
    number: str = Field(pattern=r"^[0-9-]{3,20}$")


class SelfServicePolicy(BaseModel):
    """Limits of the self-service steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_retries: int = Field(default=3, ge=1, le=5)
    digit_timeout: float = Field(default=8.0, gt=0, le=30)
    voicemail_max_seconds: int = Field(default=120, ge=10, le=600)
    lock_after: int = Field(default=3, ge=1, le=10, description="wrong passwords before a lock")
    lock_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class Node(BaseModel):
    """A menu: a prompt, then a key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: list[str] = Field(min_length=1)
    options: dict[str, Option] = Field(default_factory=dict)
    timeout: float = Field(default=6.0, gt=0, le=60)
    retries: int = Field(default=3, ge=1, le=10)
    next: str | None = Field(
        default=None, description="where to go after the prompt when no options"
    )


class Menu(BaseModel):
    """The whole tree."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = "1"
    start: str
    intro: list[str] = Field(default_factory=list, description="played once, before the start node")
    operator_queue: str = "general"
    nodes: dict[str, Node]
    referrals: list[Referral] = Field(default_factory=list)
    selfservice: SelfServicePolicy = Field(default_factory=SelfServicePolicy)


def check(
    menu: Menu,
    prompts: set[str],
    doc: LocatedYaml | None = None,
    service_prompts: set[str] | None = None,
) -> list[str]:
    """Whole-tree problems: unknown targets, unreachable nodes, missing prompts, bad keys."""
    problems: list[str] = []

    def say(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(
            doc.problem(loc, message) if doc else f"{'.'.join(map(str, loc))}: {message}"
        )

    if menu.start not in menu.nodes:
        say(("start",), f"unknown node {menu.start!r}")
    for i, prompt_id in enumerate(menu.intro):
        if prompt_id not in prompts:
            say(("intro", i), f"no prompt {prompt_id!r} in sounds/prompts.yaml")
    for name, node in menu.nodes.items():
        for i, prompt_id in enumerate(node.prompt):
            if prompt_id not in prompts:
                say(("nodes", name, "prompt", i), f"no prompt {prompt_id!r} in sounds/prompts.yaml")
        for key, option in node.options.items():
            if key not in KEYS:
                say(("nodes", name, "options", key), f"{key!r} is not a phone key")
            if option.goto is not None and option.goto not in menu.nodes:
                say(("nodes", name, "options", key, "goto"), f"unknown node {option.goto!r}")
            if option.then is not None and option.then not in menu.nodes:
                say(("nodes", name, "options", key, "then"), f"unknown node {option.then!r}")
            if option.service == "referral" and not menu.referrals:
                say(("nodes", name, "options", key), "referral service but no referrals listed")
        if node.next is not None and node.next not in menu.nodes:
            say(("nodes", name, "next"), f"unknown node {node.next!r}")
        if not node.options and node.next is None:
            say(("nodes", name), "a node needs options or next")
    for i, referral in enumerate(menu.referrals):
        if referral.prompt not in prompts:
            say(("referrals", i, "prompt"), f"no prompt {referral.prompt!r} in sounds/prompts.yaml")
    uses_services = any(o.service for n in menu.nodes.values() for o in n.options.values())
    for prompt_id in sorted(service_prompts or set()):
        if uses_services and prompt_id not in prompts:
            say(("nodes",), f"self-service needs prompt {prompt_id!r} in sounds/prompts.yaml")
    reachable: set[str] = set()
    todo = [menu.start] if menu.start in menu.nodes else []
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        node = menu.nodes[name]
        todo += [o.goto for o in node.options.values() if o.goto in menu.nodes]
        todo += [o.then for o in node.options.values() if o.then in menu.nodes]
        if node.next in menu.nodes:
            todo.append(node.next)
    for name in menu.nodes:
        if name not in reachable and menu.start in menu.nodes:
            say(("nodes", name), "unreachable from the start node")
    # A chain of nodes without options that leads back to itself would play forever.
    for name, node in menu.nodes.items():
        chain = [name]
        current = node
        while not current.options and current.next in menu.nodes:
            if current.next in chain:
                if current.next == name:
                    say(
                        ("nodes", name, "next"),
                        "a loop with no exit: " + " -> ".join([*chain, name]),
                    )
                break
            chain.append(current.next)
            current = menu.nodes[current.next]
    return problems


def load_menu(path: Path, prompts: set[str]) -> Menu:
    """Read and check the menu file; raise ConfigError naming file, line and field."""
    from ivr.readout import SERVICE_PROMPTS

    doc = LocatedYaml(path)
    menu = doc.validate(Menu)
    problems = check(menu, prompts, doc, SERVICE_PROMPTS)
    if problems:
        raise ConfigError(problems)
    return menu
