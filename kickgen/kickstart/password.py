"""Root password: a profile's `{hash|env|file}` reference -> a SHA-512 crypt hash.

Plaintext is read here, hashed at once and dropped. It never goes into an error message,
a log line or a returned value.
"""

from __future__ import annotations

import os
import re

from passlib.hash import sha512_crypt

from kickgen.core.errors import ProfileError
from kickgen.profile.loader import RootPassword

SALT_CHARS = re.compile(r"[./A-Za-z0-9]{1,16}")


def root_password_hash(rootpw: RootPassword, *, salt: str | None = None) -> str:
    """The `rootpw --iscrypted` value. `salt` fixes the salt (golden tests); None = random."""
    if rootpw.hash is not None:
        return rootpw.hash
    if rootpw.env is not None:
        plaintext = os.environ.get(rootpw.env)
        if not plaintext:
            raise ProfileError(f"{rootpw.where}: system.rootpw.env: environment variable "
                               f"{rootpw.env} is not set or empty",
                               hint=f"export {rootpw.env} before running kickgen")
        return hash_plaintext(plaintext, salt=salt)
    if rootpw.file is not None:
        try:
            with open(rootpw.file, encoding="utf-8") as handle:
                plaintext = handle.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise ProfileError(f"{rootpw.where}: system.rootpw.file: cannot read {rootpw.file}: "
                               f"{reason}") from None
        if not plaintext:
            raise ProfileError(f"{rootpw.where}: system.rootpw.file: {rootpw.file} is empty")
        return hash_plaintext(plaintext, salt=salt)
    raise ProfileError(f"{rootpw.where}: system.rootpw: give one of hash, env, file")


def hash_plaintext(plaintext: str, *, salt: str | None = None) -> str:
    """SHA-512 crypt (`$6$`, 5000 rounds: the glibc default EL6 writes itself)."""
    if salt is not None and not SALT_CHARS.fullmatch(salt):
        raise ValueError("salt must be 1-16 characters of [./A-Za-z0-9]")
    hasher = sha512_crypt.using(rounds=5000, **({"salt": salt} if salt is not None else {}))
    return hasher.hash(plaintext)
