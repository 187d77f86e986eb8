"""ECharts for the console's report charts: the npm registry's tarball of a pinned version,
checked against the integrity the registry publishes for it, cached, and its one minified
script installed beside the console's pages. No node or npm: a download and a tar read.

The pages load it from the console itself (`/console/echarts.min.js`, under the same
Content-Security-Policy as every page): nothing is fetched from a CDN at run time.

    python -m hotline.provision.echarts      (./dev does it; idempotent)
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

from hotline.settings import CACHE_DIR

VERSION = "5.6.0"
TARBALL = f"https://registry.npmjs.org/echarts/-/echarts-{VERSION}.tgz"
# `dist.integrity` of https://registry.npmjs.org/echarts/5.6.0 (sha512 of the tarball).
INTEGRITY = (
    "sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFm"
    "HGCBKP5NPFNkDVopOieyUqYGH8Fa3kA=="
)
MEMBER = "package/dist/echarts.min.js"
SCRIPT = "echarts.min.js"
TARGET_DIR = Path(__file__).resolve().parent.parent / "console_static"
TIMEOUT = 60.0


class AssetError(RuntimeError):
    """The asset could not be fetched or did not match its pinned integrity."""


def integrity_of(data: bytes) -> str:
    """The npm `integrity` string (Subresource Integrity, sha512) of `data`."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            data: bytes = resp.read()
            return data
    except OSError as exc:
        raise AssetError(
            f"could not download {url}: {exc} (is registry.npmjs.org reachable? a proxy in"
            " https_proxy is used; or put the file in the cache by hand)"
        ) from exc


def tarball(cache_dir: Path = CACHE_DIR, url: str = TARBALL, integrity: str = INTEGRITY) -> bytes:
    """The pinned tarball, from the cache or downloaded into it; AssetError when it cannot
    be had or does not match `integrity` (a bad cached copy is fetched again, once)."""
    cached = cache_dir / url.rsplit("/", 1)[1]
    if cached.exists():
        data = cached.read_bytes()
        if integrity_of(data) == integrity:
            return data
    data = _download(url)
    if integrity_of(data) != integrity:
        raise AssetError(f"{url} does not match its pinned integrity {integrity[:24]}…")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


def install(
    target_dir: Path = TARGET_DIR,
    cache_dir: Path = CACHE_DIR,
    url: str = TARBALL,
    integrity: str = INTEGRITY,
) -> Path:
    """echarts.min.js in `target_dir` (rewritten only when it differs). Returns its path."""
    with tarfile.open(fileobj=io.BytesIO(tarball(cache_dir, url, integrity)), mode="r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise AssetError(f"{url} has no {MEMBER}")
        script = member.read()
    target = target_dir / SCRIPT
    if target.exists() and target.read_bytes() == script:
        return target
    partial = target.with_suffix(".partial")
    partial.write_bytes(script)
    os.chmod(partial, 0o644)
    partial.replace(target)
    return target


def main() -> int:
    """Install the script; a clear message and exit status 1 when it cannot be."""
    try:
        path = install()
    except AssetError as exc:
        print(f"echarts {VERSION}: {exc}", file=sys.stderr)
        return 1
    print(f"echarts {VERSION}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
