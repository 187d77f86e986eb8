"""The agent roster that ops staff edit: who answers, on which desk phone, with which skills."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hotline.config_files import load_model


class Skill(StrEnum):
    """Lines of business an agent can answer (DOMAIN.md); `expert_*` are expert seats."""

    social_insurance = "social_insurance"
    employment = "employment"
    labour_relations = "labour_relations"
    personnel = "personnel"
    citizen_card = "citizen_card"
    complaints = "complaints"
    expert_social_insurance = "expert_social_insurance"
    expert_employment = "expert_employment"
    expert_labour_relations = "expert_labour_relations"


class AgentEntry(BaseModel):
    """One agent and their desk phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^[0-9]{3,6}$", description="工号, also the desk phone's SIP user")
    name: str = Field(min_length=1)
    skills: dict[Skill, int] = Field(default_factory=dict)

    @field_validator("skills")
    @classmethod
    def _levels(cls, skills: dict[Skill, int]) -> dict[Skill, int]:
        for skill, level in skills.items():
            if not 1 <= level <= 5:
                raise ValueError(f"level of {skill.value} must be 1..5, not {level}")
        return skills


class Roster(BaseModel):
    """All agents of the center."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: list[AgentEntry]

    @field_validator("agents")
    @classmethod
    def _unique(cls, agents: list[AgentEntry]) -> list[AgentEntry]:
        seen: set[str] = set()
        for agent in agents:
            if agent.number in seen:
                raise ValueError(f"agent number {agent.number} is used twice")
            seen.add(agent.number)
        return agents


def load_roster(config_dir: Path) -> Roster:
    """Read `agents.yaml` from the config folder."""
    return load_model(config_dir / "agents.yaml", Roster)
