"""Every prompt is installed as a WAV and in the phones' codecs (A-law, μ-law), which Asterisk
plays without translating each frame; an ops recording's codec files follow it (real
espeak-ng and sox, the prompt cache the set-up fills)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hotline.provision import prompts
from hotline.settings import CACHE_DIR
from ivr.prompts import LANGUAGES, PromptManifest, PromptText

MANIFEST = PromptManifest(prompts={"welcome": PromptText(zh="您好，欢迎致电12333", en="Welcome")})


def samples(wav: Path) -> int:
    """A WAV's length in samples, as sox reads it."""
    out = subprocess.run(["soxi", "-s", str(wav)], capture_output=True, text=True, check=True)
    return int(out.stdout)


def build(out: Path, overrides: Path) -> int:
    return prompts.build(MANIFEST, out, CACHE_DIR / "prompts", overrides)


def test_each_prompt_comes_in_each_codec_of_the_same_length(tmp_path: Path) -> None:
    out = tmp_path / "sounds"
    build(out, tmp_path / "overrides")
    for language in LANGUAGES:
        for wav in (out / language).glob("*.wav"):
            for extension in prompts.CODECS:
                coded = wav.with_suffix(f".{extension}")
                assert coded.stat().st_size == samples(wav), coded  # a byte a sample
    assert sorted(p.name for p in (out / "zh").glob("welcome.*")) == [
        "welcome.alaw",
        "welcome.ulaw",
        "welcome.wav",
    ]
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert build(out, tmp_path / "overrides") == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps  # nothing rewritten


def test_an_ops_recording_replaces_every_codec_and_back(tmp_path: Path) -> None:
    out, overrides = tmp_path / "sounds", tmp_path / "overrides"
    build(out, overrides)
    generated = (out / "zh" / "welcome.alaw").read_bytes()
    recording = overrides / "zh" / "welcome.wav"
    recording.parent.mkdir(parents=True)
    # Half a second of a 440 Hz tone, at 16 kHz: converted to 8 kHz on the way in.
    tone = ["-r", "16000", "-b", "16", "-c", "1", str(recording), "synth", "0.5", "sine", "440"]
    subprocess.run(["sox", "-n", *tone], check=True)
    build(out, overrides)
    for extension in prompts.CODECS:
        assert (out / "zh" / f"welcome.{extension}").stat().st_size == 4000  # 0.5 s at 8 kHz
    os.remove(recording)
    build(out, overrides)
    assert (out / "zh" / "welcome.alaw").read_bytes() == generated


def test_an_ops_recording_sox_cannot_read_fails_the_build_naming_the_file(
    tmp_path: Path,
) -> None:
    overrides = tmp_path / "overrides"
    (overrides / "zh").mkdir(parents=True)
    (overrides / "zh" / "welcome.wav").write_text("not audio")
    out = tmp_path / "sounds"
    try:
        build(out, overrides)
    except prompts.PromptError as exc:
        assert "sox could not convert" in str(exc) and "welcome.wav" in str(exc), exc
    else:
        raise AssertionError("a file sox cannot read was installed")
    assert not (out / "zh" / "welcome.wav").exists()
