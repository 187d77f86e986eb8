"""The prompt manifest: prompt ids and their text in each language."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hotline.config_files import load_model

LANGUAGES = ("zh", "en")


class PromptText(BaseModel):
    """One prompt's text; Mandarin is required, English falls back to Mandarin when absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str | None = None

    def text(self, language: str) -> str:
        """The text for language."""
        return self.en if language == "en" and self.en else self.zh


class PromptManifest(BaseModel):
    """All prompts by id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompts: dict[str, PromptText]


def load_manifest(path: Path) -> PromptManifest:
    """Read the manifest (sounds/prompts.yaml)."""
    return load_model(path, PromptManifest)
