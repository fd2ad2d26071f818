"""Deferred kernel-side copies (kickgen.media.blockcopy) and how the ISO writer records them."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from kickgen.core import errors
from kickgen.media import iso
from kickgen.media.blockcopy import Copy, CopyJob


@pytest.fixture
def source(tmp_path) -> tuple[int, bytes]:
    data = os.urandom(3 << 20)
    path = tmp_path / "src.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


def _output(tmp_path: Path, size: int) -> int:
    fd = os.open(tmp_path / "out.bin", os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
    os.ftruncate(fd, size)
    return fd


def _copies(src_fd: int) -> list[Copy]:
    # given out of order; gaps between them stay as the output had them (zeros here)
    return [Copy(2 << 20, src_fd, 0, 1 << 20), Copy(4096, src_fd, 1 << 20, 300_000),
            Copy(1 << 20, src_fd, 2 << 20, 500_000)]


def _expected(data: bytes, copies: list[Copy], size: int) -> bytes:
    out = bytearray(size)
    for c in copies:
        out[c.dest:c.end] = data[c.src:c.src + c.length]
    return bytes(out)


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_copies_land_where_recorded(source, tmp_path, kernel_copy) -> None:
    src_fd, data = source
    size = 4 << 20
    fd = _output(tmp_path, size)
    copies = _copies(src_fd)
    seen = []
    job = CopyJob(fd, copies, progress=lambda done, total: seen.append((done, total)))
    job.kernel_copy = kernel_copy
    with job:
        pass
    assert os.pread(fd, size, 0) == _expected(data, copies, size)
    assert seen[-1] == (job.total, job.total) == (sum(c.length for c in copies),) * 2
    os.close(fd)


def test_a_reader_following_ready_sees_only_final_bytes(source, tmp_path) -> None:
    """Bytes read up to what `ready` returns are already the final ones, while copies run."""
    src_fd, data = source
    size = 4 << 20
    fd = _output(tmp_path, size)
    copies = _copies(src_fd)
    read = bytearray()
    with CopyJob(fd, copies) as job:
        pos = 0
        while pos < size:
            final = min(job.ready(pos), size)
            assert final > pos
            chunk = os.pread(fd, min(final - pos, 65536), pos)
            read += chunk
            pos += len(chunk)
    assert bytes(read) == _expected(data, copies, size)
    os.close(fd)


def test_a_short_source_fails_loudly(source, tmp_path) -> None:
    src_fd, _ = source
    fd = _output(tmp_path, 8 << 20)
    beyond = [Copy(0, src_fd, 2 << 20, 2 << 20)]          # 1 MiB more than the source has
    with pytest.raises(errors.MediaError, match="ends early"):
        with CopyJob(fd, beyond):
            pass
    with pytest.raises(errors.MediaError, match="copying file data into the image failed"):
        with CopyJob(fd, beyond) as job:
            job.ready(1 << 30)
    os.close(fd)


def test_leaving_with_an_error_cancels_the_copies(tmp_path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(2 << 30)                               # sparse: reads cost no disk
    src_fd = os.open(big, os.O_RDONLY)
    fd = _output(tmp_path, 0)
    copies = [Copy(i << 26, src_fd, i << 26, 1 << 26) for i in range(32)]
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with CopyJob(fd, copies):
            raise KeyboardInterrupt
    assert time.monotonic() - started < 10
    assert not any(t.name == "kickgen-copy" for t in threading.enumerate())
    assert os.fstat(fd).st_size < 2 << 30
    os.close(src_fd)
    os.close(fd)


def test_writer_cuts_bytes_written_over_a_recorded_copy(tmp_path) -> None:
    """pycdlib patches a boot-info-table into isolinux.bin after copying it: the later bytes
    win, the copy is split around them."""
    fd = _output(tmp_path, 0)
    writer = iso._SpanWriter(fd)
    writer.seek(10 * 2048)
    writer.write(iso._Span(99, 5000, 4 * 2048))
    writer.seek(10 * 2048 + 8)
    writer.write(b"B" * 56)
    writer.seek(0, 2)
    assert writer.tell() == 14 * 2048                        # the end counts recorded copies
    assert writer.copies == [Copy(10 * 2048, 99, 5000, 8),
                             Copy(10 * 2048 + 64, 99, 5000 + 64, 4 * 2048 - 64)]
    writer.seek(0)
    writer.write(b"x" * (20 * 2048))                         # bytes over everything: no copy left
    assert writer.copies == []
    os.close(fd)
