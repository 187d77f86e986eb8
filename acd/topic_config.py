"""`dialplan/topics.yaml`: the wrap-up topic codes an agent picks for each call on the desk
(the reports' hot topics count them), each with its Mandarin and English label."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hotline.config_files import LocatedYaml

# Stored with the call (call_segments.topic): lower-case letters, digits and _.
TopicCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
MAX_TOPICS = 200  # a list an agent picks from during a call: a few dozen at most


class Topic(BaseModel):
    """One topic's labels as the desk shows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, max_length=32)
    en: str = Field(min_length=1, max_length=64)


class TopicsConfig(BaseModel):
    """The topic codes, in the order the desk lists them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: dict[TopicCode, Topic] = Field(default_factory=dict, max_length=MAX_TOPICS)

    def listing(self) -> list[dict[str, str]]:
        """The topics as the desk's list: code and both labels, in the file's order."""
        return [{"code": code, "zh": t.zh, "en": t.en} for code, t in self.topics.items()]


def load_topics(config_dir: Path) -> TopicsConfig:
    """Read `topics.yaml` (no topics when absent: the desk then offers none)."""
    path = config_dir / "topics.yaml"
    if not path.exists():
        return TopicsConfig()
    return LocatedYaml(path).validate(TopicsConfig)
