"""The in-process media MD5 (kickgen.media.implant) against isomd5sum's own tools.

`implantisomd5` (Debian's isomd5sum, the tool EL6 media were made with) and kickgen must
write the same 512 bytes into the same image; `checkisomd5` must pass kickgen's result.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from kickgen.media import implant
from remaster_fixtures import checkisomd5, run, xorriso_plain

BASES = ["standin_dvd", "standin_minimal", "tiny_hybrid", "tiny_plain"]


def _implant_both(base: Path, tmp_path: Path, *, supported: bool) -> tuple[Path, Path, str]:
    theirs, ours = tmp_path / "theirs.iso", tmp_path / "ours.iso"
    shutil.copyfile(base, theirs)
    shutil.copyfile(base, ours)
    run("implantisomd5", "--force", *(["--supported-iso"] if supported else []), theirs)
    fd = os.open(ours, os.O_RDWR)
    try:
        md5 = implant.implant_fd(fd, supported=supported)
    finally:
        os.close(fd)
    return theirs, ours, md5


@pytest.mark.parametrize("supported", [False, True])
@pytest.mark.parametrize("name", BASES)
def test_same_bytes_as_implantisomd5(request, name, supported, tmp_path) -> None:
    base = request.getfixturevalue(name)
    theirs, ours, md5 = _implant_both(base, tmp_path, supported=supported)
    assert ours.read_bytes() == theirs.read_bytes()
    assert checkisomd5(ours) == 0
    found = implant.read_implanted(ours)
    assert (found.md5, found.supported, found.skip_sectors) == (md5, supported, 15)


def test_small_image_whose_fragments_are_shorter_than_a_read(tmp_path) -> None:
    """Under 21 x 32 KiB several fragments fall in one of isomd5sum's reads: fewer sums."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(os.urandom(200 << 10))
    base = xorriso_plain(tree, tmp_path / "small.iso", boot=False)
    total = (base.stat().st_size // 2048 - implant.SKIP_SECTORS) * 2048
    assert total < 21 * implant.CHUNK
    theirs, ours, _ = _implant_both(base, tmp_path, supported=False)
    assert ours.read_bytes() == theirs.read_bytes()
    assert len(implant.fragment_marks(total)) < implant.FRAGMENT_COUNT


def test_fragment_marks_follow_isomd5sums_reads() -> None:
    """A sum after the first 32 KiB read that starts in each new fragment (isomd5sum's loop)."""
    for total in (21 * implant.CHUNK * 7 + 4096, 4 << 30, 1 << 20, 700 << 10):
        size = total // 21
        expected, previous = [], 0
        for start in range(0, total, implant.CHUNK):
            if start // size != previous:
                expected.append(min(start + implant.CHUNK, total))
                previous = start // size
        assert implant.fragment_marks(total) == expected, total


def test_any_feeding_gives_the_same_sums(tiny_hybrid) -> None:
    data = tiny_hybrid.read_bytes()
    whole = implant.MediaMd5(len(data))
    whole.update(data)
    pieces = implant.MediaMd5(len(data))
    rng, pos = random.Random(7), 0
    while pos < len(data):
        step = rng.choice([1, 511, 2048, 40000, 1 << 20])
        pieces.update(data[pos:pos + step])
        pos += step
    assert (pieces.hexdigest(), pieces.fragment_sums) == (whole.hexdigest(), whole.fragment_sums)
    assert len(whole.fragment_sums) == 60


def test_the_application_area_is_read_as_spaces(tiny_plain, tmp_path) -> None:
    """Whatever the PVD's application-use area holds, the sum is the same (isomd5sum blanks it)."""
    data = bytearray(tiny_plain.read_bytes())
    sums = []
    for fill in (b" ", b"x", b"\0"):
        data[implant.APPDATA_OFFSET:implant.APPDATA_OFFSET + implant.APPDATA_SIZE] = fill * implant.APPDATA_SIZE
        md5 = implant.MediaMd5(len(data))
        md5.update(data)
        sums.append(md5.hexdigest())
    assert len(set(sums)) == 1


def test_damage_is_seen_by_both(tiny_hybrid, tmp_path) -> None:
    _, ours, _ = _implant_both(tiny_hybrid, tmp_path, supported=False)
    with open(ours, "r+b") as f:
        f.seek(200 * 2048)
        byte = f.read(1)
        f.seek(200 * 2048)
        f.write(bytes([byte[0] ^ 0xFF]))
    check = implant.check(ours)
    assert not check.matches and check.implanted != check.computed
    assert checkisomd5(ours) != 0
