"""Turning the prompt manifest into 8 kHz WAV files Asterisk can play, with a cache; each
also in the codecs the phones speak (A-law, μ-law), which Asterisk plays as they are."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from ivr.prompts import LANGUAGES, PromptManifest, PromptText
from ivr.speech import PROMPT_TEXT

VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}  # plain `cmn` reads pinyin as English
SPEED = {"zh": 185, "en": 165}
ENGINE = "espeak-ng"


class PromptError(RuntimeError):
    """A prompt could not be produced."""


# Generated speech starts and ends with silence; trimmed, a number read digit by digit
# (composed of short prompts) sounds like one sentence instead of a stutter.
TRIM = [
    "silence",
    "1",
    "0.02",
    "0.5%",
    "reverse",
    "silence",
    "1",
    "0.02",
    "0.5%",
    "reverse",
    "pad",
    "0",
    "0.06",
]
PROCESSING = "trim-v1"  # part of the cache key: change it when TRIM changes


def _sox(command: list[str], target: Path, effects: list[str], failure: str) -> None:
    """Run sox into a temporary file beside `target`, then put it in place; named by
    process, as two instances may build from the same cache at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp{target.suffix}")
    run = subprocess.run(
        ["sox", *command, str(tmp), *effects], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise PromptError(f"{failure}: {run.stderr.strip()}")
    tmp.replace(target)


def _convert(source: Path, target: Path, trim: bool = False) -> None:
    pcm = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
    _sox([str(source), *pcm], target, TRIM if trim else [], f"sox could not convert {source}")


# The codecs pjsip.conf allows, as sox's file types. Asterisk picks, of a prompt's files, the
# one cheapest to play on the channel: a WAV is translated frame by frame for every caller
# (bench: native's Asterisk CPU a call 70 → 66 ms with these beside the WAVs).
CODECS = {"alaw": "al", "ulaw": "ul"}


def _encode(wav: Path, target: Path, sox_type: str) -> None:
    _sox([str(wav), "-D", "-t", sox_type], target, [], f"sox could not encode {wav} as {sox_type}")


def _encoded(wav: Path) -> int:
    """The codecs' files beside a WAV, (re)made when missing or older; how many were made."""
    made = 0
    for extension, sox_type in CODECS.items():
        target = wav.with_suffix(f".{extension}")
        if not target.exists() or target.stat().st_mtime < wav.stat().st_mtime:
            _encode(wav, target, sox_type)
            made += 1
    return made


def _copy_if_changed(source: Path, target: Path) -> None:
    if not target.exists() or target.read_bytes() != source.read_bytes():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _speak(text: str, language: str, out: Path) -> None:
    run = subprocess.run(
        [ENGINE, "-v", VOICES[language], "-s", str(SPEED[language]), "-w", str(out), text],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0 or not out.exists():
        raise PromptError(f"{ENGINE} failed for {text!r}: {run.stderr.strip()}")


def cache_key(text: str, language: str) -> str:
    """What a generated prompt depends on: change any of it and it is made again."""
    material = f"{ENGINE}|{VOICES[language]}|{SPEED[language]}|{PROCESSING}|{text}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def build(manifest: PromptManifest, out_dir: Path, cache_dir: Path, overrides: Path) -> int:
    """Write `<out_dir>/<lang>/<id>.wav` (and .alaw, .ulaw) for every prompt; returns how
    many were (re)made."""
    for tool in (ENGINE, "sox"):
        if shutil.which(tool) is None:
            raise PromptError(f"{tool} is not installed (Debian package {tool})")
    made = 0
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Digits and units for reading numbers are built in; the manifest may override them.
    builtin = {k: PromptText(zh=v) for k, v in PROMPT_TEXT.items()}
    for prompt_id, prompt in {**builtin, **manifest.prompts}.items():
        for language in LANGUAGES:
            target = out_dir / language / f"{prompt_id}.wav"
            override = overrides / language / f"{prompt_id}.wav"
            if override.exists():
                if not target.exists() or target.stat().st_mtime < override.stat().st_mtime:
                    _convert(override, target)
                    made += 1
                made += _encoded(target)
                continue
            cached = cache_dir / f"{cache_key(prompt.text(language), language)}.wav"
            if not cached.exists():
                raw = cached.with_suffix(".raw.wav")
                _speak(prompt.text(language), language, raw)
                _convert(raw, cached, trim=True)
                raw.unlink()
                made += 1
            made += _encoded(cached)
            for extension in (".wav", *(f".{e}" for e in CODECS)):
                _copy_if_changed(cached.with_suffix(extension), target.with_suffix(extension))
    return made
