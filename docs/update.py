"""Rewrite the generated parts of the manuals from the code: `.venv/bin/python docs/update.py`.

A generated part sits between `<!-- BEGIN GENERATED: what -->` and `<!-- END GENERATED -->`:
`synopsis` and `options` in docs/kickgen*.md come from kickgen's argparse parser,
`profile keys` in docs/profile.md from the profile schema, `rules` and `releases` in
docs/kickgen-validate.md from the validator's rule table and grammar. tests/test_cli.py,
tests/test_profile.py and tests/test_validate.py fail when a page and the code disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from kickgen.cli import options_markdown, subcommands, synopsis_text
from kickgen.kickstart.validate.grammar import releases_markdown
from kickgen.kickstart.validate.rules import rules_markdown
from kickgen.profile import reference_markdown

DOCS = Path(__file__).resolve().parent
BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (.+?) -->\n)(.*?)(<!-- END GENERATED -->)", re.S)


def blocks_for(page: Path) -> dict[str, str]:
    if page.name == "profile.md":
        return {"profile keys": reference_markdown()}
    if page.name == "kickgen.md":
        return {"options": options_markdown(None)}
    name = page.stem.removeprefix("kickgen-")
    if page.stem.startswith("kickgen-") and name in subcommands():
        blocks = {"synopsis": f"```\n{synopsis_text(name)}\n```", "options": options_markdown(name)}
        if name == "validate":
            blocks |= {"rules": rules_markdown(), "releases": releases_markdown()}
        return blocks
    return {}


def update(page: Path) -> bool:
    wanted = blocks_for(page)
    text = page.read_text()

    def replace(match: re.Match) -> str:
        what = match.group(2)
        if what not in wanted:
            raise SystemExit(f"{page}: unknown generated block {what!r}")
        return f"{match.group(1)}{wanted[what].rstrip()}\n{match.group(4)}"

    new = BLOCK.sub(replace, text)
    if new != text:
        page.write_text(new)
    return new != text


def main() -> int:
    changed = [page.name for page in sorted(DOCS.glob("*.md")) if update(page)]
    print("updated: " + (", ".join(changed) if changed else "nothing"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
