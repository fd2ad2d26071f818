"""Thin command line over the pipeline stages. The only place that catches KickgenError.

Each command is a pair: `_add_<name>(subparsers)` declares its arguments and
`_cmd_<name>(args) -> int` calls one stage entry point and prints the result.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .errors import KickgenError

log = logging.getLogger("kickgen")


# --- render / validate / profiles / show (stage: profile -> kickstart) -------------------

def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a profile to a kickstart (validated)")
    p.add_argument("profile")
    p.set_defaults(func=_not_yet)


# --- standin (stand-in CentOS 6.5 media) ---------------------------------------------------

# --- iso / inspect (stage: remaster) --------------------------------------------------------

# --- boot-test / matrix (stage: prove it) ---------------------------------------------------

# --- check-offline (air-gapped media) -------------------------------------------------------


def _not_yet(args: argparse.Namespace) -> int:
    raise KickgenError(f"'{args.command}' is not implemented yet")


COMMANDS = [_add_render]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kickgen", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kickgen {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse exits 2 on a usage error, as we want
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KickgenError as exc:
        if args.debug:
            log.exception("failed")
        print(f"kickgen: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"kickgen: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kickgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
