"""Version strings compared the way rpm compares them: the one comparison kickgen uses, for
package versions (kickgen.offline) and the host's kernel releases (kickgen.core.hostkernel)."""

from __future__ import annotations

import functools


def rpmvercmp(a: str, b: str) -> int:
    """rpm's version segment comparison: -1, 0 or 1 (digits beat letters, '~' sorts first)."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and not _alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < len(b) and not _alnum(b[j]) and b[j] not in "~^":
            j += 1
        a_tilde, b_tilde = i < len(a) and a[i] == "~", j < len(b) and b[j] == "~"
        if a_tilde or b_tilde:
            if not a_tilde:
                return 1
            if not b_tilde:
                return -1
            i, j = i + 1, j + 1
            continue
        a_caret, b_caret = i < len(a) and a[i] == "^", j < len(b) and b[j] == "^"
        if a_caret or b_caret:
            if i >= len(a):
                return -1
            if j >= len(b):
                return 1
            if not a_caret:
                return 1
            if not b_caret:
                return -1
            i, j = i + 1, j + 1
            continue
        if i >= len(a) or j >= len(b):
            break
        numeric = a[i].isdigit()
        kind = str.isdigit if numeric else _alpha
        start_a, start_b = i, j
        while i < len(a) and a[i].isascii() and kind(a[i]):
            i += 1
        while j < len(b) and b[j].isascii() and kind(b[j]):
            j += 1
        seg_a, seg_b = a[start_a:i], b[start_b:j]
        if not seg_b:  # segments of different kinds: a number is newer than letters
            return 1 if numeric else -1
        if numeric:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def _alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _alpha(char: str) -> bool:
    return char.isascii() and char.isalpha()


# A sort key for sorted()/max(): version_key("6.1.0-10") > version_key("6.1.0-9").
version_key = functools.cmp_to_key(rpmvercmp)
