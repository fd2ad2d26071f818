"""Kernel-side copies of file data into the output image, run on a thread.

pycdlib lays out and writes every record itself, but the bytes of unchanged files are not
passed through Python: they are recorded as `Copy`s (see kickgen.media.iso) and carried out here
with `os.copy_file_range`. While they run, a reader (the media MD5) can follow behind:
`CopyJob.ready(pos)` blocks until the bytes from `pos` on are final. Copies run in order of
their place in the output, so everything before the first unfinished copy is final.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kickgen.core.errors import MediaError
from kickgen.core.outputs import is_disk_error

CALL_BYTES = 64 << 20           # one copy_file_range call at most: keeps cancelling prompt
FALLBACK_BYTES = 4 << 20        # read/write size where the kernel cannot copy


@dataclass(frozen=True)
class Copy:
    """`length` bytes of open file `src_fd` at `src` go to offset `dest` of the output."""

    dest: int
    src_fd: int
    src: int
    length: int

    @property
    def end(self) -> int:
        return self.dest + self.length


class CopyJob:
    """Run `copies` into `fd` on a thread. Use as a context manager: leaving it waits for the
    copies (or cancels them when leaving with an exception) and raises the copier's error."""

    def __init__(self, fd: int, copies: list[Copy], progress: Callable[[int, int], None] | None = None):
        self.fd = fd
        self.copies = sorted(copies, key=lambda c: c.dest)
        self.total = sum(c.length for c in self.copies)
        self._progress = progress
        self._next = 0                      # index of the first copy not finished
        self._error: BaseException | None = None
        self._cancel = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="kickgen-copy", daemon=True)
        self.kernel_copy = True

    def __enter__(self) -> CopyJob:
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._cancel.set()
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def ready(self, pos: int) -> int:
        """Block until the bytes at `pos` are final; return the end of the final run from `pos`."""
        with self._changed:
            while True:
                if self._error is not None:
                    if is_disk_error(self._error):   # the output's file system: named by core.atomic
                        raise self._error
                    raise MediaError(f"copying file data into the image failed: {self._error}")
                final = self.copies[self._next].dest if self._next < len(self.copies) else None
                if final is None:
                    return 1 << 62
                if final > pos:
                    return final
                self._changed.wait(0.5)     # a timeout keeps Ctrl-C / SIGTERM responsive

    def _run(self) -> None:
        done = 0
        try:
            for index, copy in enumerate(self.copies):
                self._copy(copy)
                done += copy.length
                with self._changed:
                    self._next = index + 1
                    self._changed.notify_all()
                if self._progress is not None:
                    self._progress(done, self.total)
        except BaseException as exc:  # noqa: BLE001 (handed to the reader and to __exit__)
            with self._changed:
                self._error = exc
                self._changed.notify_all()

    def _copy(self, copy: Copy) -> None:
        src, dest, left = copy.src, copy.dest, copy.length
        while left > 0:
            if self._cancel.is_set():
                raise InterruptedError("copy cancelled")
            done = 0
            if self.kernel_copy:
                try:
                    done = os.copy_file_range(copy.src_fd, self.fd, min(left, CALL_BYTES), src, dest)
                except OSError:
                    self.kernel_copy = False  # e.g. across file systems on old kernels
            if not done:
                chunk = os.pread(copy.src_fd, min(left, FALLBACK_BYTES), src)
                if not chunk:
                    raise MediaError(f"a source file ends early: {copy.length} bytes at offset "
                                     f"{copy.src} expected")
                done = os.pwrite(self.fd, chunk, dest)
            src, dest, left = src + done, dest + done, left - done
