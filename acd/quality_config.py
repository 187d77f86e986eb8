"""`dialplan/quality.yaml`: the share of each agent's recorded calls sampled each day and the
scoring form (质检), as ops define them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acd.quality import Form, FormItem
from hotline.config_files import LocatedYaml

# An item's name: what the API and the stored scores call it (its labels are for people).
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Item(BaseModel):
    """One item of the form: its labels, its weight, its scale (0..points; 1 = pass/fail)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, max_length=40)
    en: str = Field(min_length=1, max_length=60)
    weight: int = Field(ge=1, le=100)
    points: int = Field(default=1, ge=1, le=10)


def _default_items() -> dict[str, Item]:
    return {
        "greeting": Item(zh="规范问候", en="Greeting", weight=10, points=1),
        "accuracy": Item(zh="答复准确", en="Accurate answer", weight=40, points=5),
        "policy": Item(zh="政策解释", en="Policy explained", weight=30, points=5),
        "manners": Item(zh="服务态度", en="Manners", weight=20, points=5),
    }


class QualityConfig(BaseModel):
    """The daily sample's share and floor, the shortest call worth hearing, the form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float = Field(default=0.05, gt=0, le=1)
    minimum_per_agent: int = Field(default=1, ge=0, le=50)
    min_seconds: int = Field(default=10, ge=0, le=3600)
    items: dict[ItemId, Item] = Field(default_factory=_default_items, min_length=1, max_length=30)

    def form(self) -> Form:
        """The form of the pure core, items in the file's order."""
        return Form(
            tuple(FormItem(name, i.weight, i.points, i.zh, i.en) for name, i in self.items.items())
        )


def load_quality(config_dir: Path) -> QualityConfig:
    """Read `quality.yaml` (the defaults above when absent)."""
    path = config_dir / "quality.yaml"
    if not path.exists():
        return QualityConfig()
    return LocatedYaml(path).validate(QualityConfig)
