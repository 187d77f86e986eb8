"""The detached log stays under its size bound, rotates, and is not world-readable."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from hotline.cli import parser
from hotline.logfile import MODE, RotatingLog


def _logs(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + "*"))


def test_rotation_keeps_each_file_under_the_bound_and_drops_the_oldest(tmp_path: Path) -> None:
    path = tmp_path / "hotline.log"
    log = RotatingLog(path, max_bytes=100, backups=2)
    for i in range(30):
        log.write(f"line {i:02d} ".encode() + b"x" * 20 + b"\n")  # 29 bytes each
    log.close()
    files = _logs(path)
    assert [f.name for f in files] == ["hotline.log", "hotline.log.1", "hotline.log.2"]
    assert all(f.stat().st_size <= 100 for f in files)
    # The newest lines are in the current file, the oldest ones are gone.
    assert b"line 29" in path.read_bytes()
    assert b"line 00" not in b"".join(f.read_bytes() for f in files)
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == MODE


def test_an_old_world_readable_log_is_corrected(tmp_path: Path) -> None:
    path = tmp_path / "hotline.log"
    path.write_text("from an older version\n")
    path.chmod(0o644)
    RotatingLog(path).close()
    assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0


def test_a_detached_process_and_its_children_write_into_the_rotating_log(tmp_path: Path) -> None:
    """
    1. A process redirects its output (as the detached `hotline start` does).
    2. It prints, logs to stderr and starts a child that writes to the inherited stderr.
    3. Everything is in the log files, none of which passes the bound.
    """
    path = tmp_path / "hotline.log"
    script = textwrap.dedent(f"""
        import subprocess, sys
        from pathlib import Path
        from hotline.logfile import redirect_output
        redirect_output(Path({str(path)!r}), max_bytes=2000, backups=3)
        for i in range(200):
            print(f"stdout line {{i:03d}}")
            print(f"stderr line {{i:03d}}", file=sys.stderr)
        subprocess.run(["sh", "-c", "echo from the child >&2"], check=True)
        print("last line")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"" and run.stderr == b""
    files = _logs(path)
    assert len(files) == 4
    assert all(f.stat().st_size <= 2000 for f in files)
    text = path.read_text()
    assert "from the child" in text and text.endswith("last line\n")


def test_detached_start_passes_the_log_file_to_the_background_process() -> None:
    args = parser().parse_args(["start", "--log-file", "/tmp/x.log"])
    assert args.log_file == "/tmp/x.log" and not args.detach


def test_a_chunk_larger_than_a_file_is_split_after_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "hotline.log"
    log = RotatingLog(path, max_bytes=100, backups=5)
    log.write(b"".join(f"{i:02d}".encode() + b"y" * 37 + b"\n" for i in range(5)))  # 200 bytes
    log.write(b"z" * 150 + b"\n")  # one line longer than a whole file
    log.close()
    files = _logs(path)
    assert all(f.stat().st_size <= 100 for f in files)
    assert all(f.read_bytes().startswith((b"0", b"z", b"\n")) for f in files)
    assert sum(f.stat().st_size for f in files) == 351
