"""ECharts for the console's charts (hotline/provision/echarts.py): a tarball shaped like the
npm registry's, served from a file: URL, is checked, cached and its script installed; a
second run needs no download; a wrong integrity or an unreachable registry is a clear error.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from hotline.provision import echarts

SCRIPT = b"/* echarts */ var echarts = {};"


def npm_tarball(path: Path, script: bytes = SCRIPT) -> str:
    """A .tgz with package/dist/echarts.min.js (as `npm pack` makes it); its integrity."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo(echarts.MEMBER)
        info.size = len(script)
        tar.addfile(info, io.BytesIO(script))
    path.write_bytes(out.getvalue())
    return echarts.integrity_of(out.getvalue())


def test_the_script_is_installed_from_a_checked_cached_tarball(tmp_path: Path) -> None:
    source = tmp_path / "registry" / "echarts-9.9.9.tgz"
    source.parent.mkdir()
    integrity = npm_tarball(source)
    cache, target = tmp_path / "cache", tmp_path / "static"
    target.mkdir()
    url = source.as_uri()
    installed = echarts.install(target, cache, url, integrity)
    assert installed.read_bytes() == SCRIPT
    assert (cache / "echarts-9.9.9.tgz").read_bytes() == source.read_bytes()
    source.unlink()  # the registry is gone: the cache serves, the file is left as it is
    before = installed.stat().st_mtime_ns
    assert echarts.install(target, cache, url, integrity) == installed
    assert installed.stat().st_mtime_ns == before


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "echarts-9.9.9.tgz"
    npm_tarball(source)
    pinned = echarts.integrity_of(b"another tarball")
    with pytest.raises(echarts.AssetError, match="does not match its pinned integrity"):
        echarts.install(tmp_path, tmp_path / "cache", source.as_uri(), pinned)
    assert not (tmp_path / "cache" / "echarts-9.9.9.tgz").exists()
    assert not (tmp_path / echarts.SCRIPT).exists()


def test_an_unreachable_registry_says_so(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere" / "echarts-9.9.9.tgz").as_uri()
    with pytest.raises(echarts.AssetError, match=r"could not download .*registry\.npmjs\.org"):
        echarts.install(tmp_path, tmp_path / "cache", url, echarts.INTEGRITY)


def test_the_pin_is_the_registrys_tarball_of_the_version() -> None:
    wanted = f"https://registry.npmjs.org/echarts/-/echarts-{echarts.VERSION}.tgz"
    assert wanted == echarts.TARBALL
    assert echarts.INTEGRITY.startswith("sha512-") and len(echarts.INTEGRITY) == 95
