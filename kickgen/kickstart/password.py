"""Root password: a profile's `{hash|env|file}` reference -> a SHA-512 crypt hash.

Plaintext is read here, hashed at once and dropped. It never goes into an error message,
a log line, a returned value or the salt.

Hashing is libpass's `sha512_crypt` (the maintained fork of passlib; its pure-Python
backend does not use the `crypt` module that Python 3.13 removed). The tests check its
output against `openssl passwd -6`, an independent implementation.
"""

from __future__ import annotations

import hashlib
import os

from passlib.hash import sha512_crypt

from kickgen.core.el6 import CRYPT_SALT
from kickgen.core.errors import ProfileError
from kickgen.profile import RootPassword

# glibc's default and what EL6 writes itself: `$6$salt$hash` without a `rounds=` field.
ROUNDS = 5000
# The crypt salt alphabet, in crypt's own order; a 16-character salt carries 96 bits.
SALT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SALT_LENGTH = 16


def root_password_hash(rootpw: RootPassword, *, salt: str | None = None) -> str:
    """The `rootpw --iscrypted` value. `salt` fixes the salt (reproducible media); None = random."""
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
    if salt is not None and not CRYPT_SALT.fullmatch(salt):
        raise ValueError("salt must be 1-16 characters of [./A-Za-z0-9]")
    hasher = sha512_crypt.using(rounds=ROUNDS, **({"salt": salt} if salt is not None else {}))
    return hasher.hash(plaintext)


def salt_from_public_text(text: str) -> str:
    """A crypt salt (16 characters) derived from TEXT, which must hold no secret.

    Callers pass the kickstart rendered with a placeholder instead of the password hash: the
    same profile gives the same salt wherever it lives. Never pass anything derived from the
    plaintext: such a salt would let an attacker test guesses against it without the 5000
    rounds. 256 is a multiple of 64, so `byte % 64` picks every character equally often."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "".join(SALT_ALPHABET[byte % 64] for byte in digest[:SALT_LENGTH])
