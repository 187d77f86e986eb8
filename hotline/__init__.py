"""The shared package of the 12333 hotline: settings, store, telephony adapters, web, CLI."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
