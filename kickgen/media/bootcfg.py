"""Boot menu edits as data: ISOLINUX `isolinux.cfg` and grub-legacy `BOOTX64.conf`.

Pure text in, text out. Each config is parsed into a global section and entries (raw
lines kept), the entries are changed as structured data (kernel argument lists), and the
file is joined again. Lines of entries the edit does not touch come back byte for byte.

The edit adds two entries in front of the existing ones, copied from the entry that was
the default (same kernel and initrd, its arguments minus any that choose the kickstart or
the install source: `ks`, `ks=`, `repo=`, `method=`, `askmethod`):
  <label>      `ks=cdrom:/ks.cfg` + the profile's boot arguments (CD/DVD boot; the install
               source is the kickstart's `cdrom`, which searches optical drives only)
  <label>-usb  `ks=hd:LABEL=<volume id>:/ks.cfg repo=hd:LABEL=<volume id>:/` + the same
               (the ISO written to a USB stick: a disk, which `cdrom` never looks at; the
               loader's repo= replaces the kickstart's method, anaconda 13.21
               loader/loader.c ~1088-1093 and ~1355-1380, loader/method.c ~534-543)
and makes one of them the default, with the profile's timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kickgen.core.el6 import BOOT_DEFAULT, KS_PATH, is_source_arg, volume_id_problem
from kickgen.core.errors import MediaError, UsageError

MENU_MODULES = ("menu.c32", "vesamenu.c32")
_ONE_WORD = re.compile(r"[!-~]+")          # visible ASCII: no blank, no control character


@dataclass(frozen=True)
class BootEdit:
    """What to change in every boot menu of the image."""

    label: str                  # isolinux label of the CD entry; the USB entry is <label>-usb
    args: tuple[str, ...]       # installer arguments added beside ks= (and repo=)
    volume_id: str              # used in ks=hd:LABEL=<volume id>:/ks.cfg and repo=hd:LABEL=...
    timeout_s: int              # menu timeout in seconds
    default: str = BOOT_DEFAULT  # "cd" | "usb" (el6.BOOT_ENTRIES): which added entry boots by default

    def __post_init__(self) -> None:
        # Each goes into a menu line as one word: a blank or a line break would end the word or
        # the line there, and what follows would be read as menu directives of its own.
        if not _ONE_WORD.fullmatch(self.label):
            raise UsageError(f"boot label {self.label!r}: one word of visible ASCII characters expected")
        bad = [a for a in self.args if not _ONE_WORD.fullmatch(a)]
        if bad:
            raise UsageError(f"boot argument {bad[0]!r}: one word of visible ASCII characters expected")
        problem = volume_id_problem(self.volume_id)
        if problem:
            raise UsageError(f"volume ID {self.volume_id!r} {problem}: it goes into LABEL= on the boot line")
        clash = [a for a in self.args if is_source_arg(a)]
        if clash:
            raise UsageError(f"boot argument {clash[0]!r} chooses the kickstart or install source; "
                             "kickgen sets those itself in each menu entry",
                             hint="remove it from boot.args")

    @property
    def cd_source(self) -> tuple[str, ...]:
        """The CD entry: only ks=; the install source is the kickstart's `cdrom`."""
        return (f"ks=cdrom:{KS_PATH}",)

    @property
    def usb_source(self) -> tuple[str, ...]:
        """The USB entry: kickstart and install source both from the stick, found by label."""
        return (f"ks=hd:LABEL={self.volume_id}:{KS_PATH}", f"repo=hd:LABEL={self.volume_id}:/")

    @property
    def usb_label(self) -> str:
        return f"{self.label}-usb"


@dataclass(frozen=True)
class BootEntry:
    """One menu entry as a boot loader sees it (for `inspect` and the manifest)."""

    name: str                   # isolinux label or grub title
    kernel: str
    args: tuple[str, ...]
    default: bool

    @property
    def ks(self) -> str | None:
        return next((a for a in self.args if a.lower().startswith("ks=")), None)

    @property
    def repo(self) -> str | None:
        """The install source given on the kernel line (repo=, or its old name method=)."""
        return next((a for a in self.args if a.lower().startswith(("repo=", "method="))), None)


# --- kernel argument lists ------------------------------------------------------------------

def split_args(text: str) -> list[str]:
    """Kernel command line to a list (the kernel splits on blanks; no quoting on EL6 menus)."""
    return text.split()


def with_source(args: list[str] | tuple[str, ...], source: tuple[str, ...],
                extra: tuple[str, ...]) -> list[str]:
    """`args` without the template's own kickstart/source arguments, then `source`, then the
    `extra` ones not already there."""
    kept = [a for a in args if not is_source_arg(a)]
    out = kept + list(source)
    out += [a for a in extra if a not in out]
    return out


# --- shared line helpers ----------------------------------------------------------------------

def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> list[str]:
    """TEXT's lines with their ends, cut only where a boot loader ends a line (\\n, \\r\\n, \\r):
    not at the other characters `str.splitlines` breaks at (U+0085, U+2028, \\v, ...), which
    would make entries out of what isolinux and grub read as part of a comment."""
    return _LINE.findall(text)


def _keyword(line: str) -> tuple[str, str]:
    """('keyword' lowercased, rest) of a config line; ('', '') for blank/comment lines."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return "", ""
    parts = stripped.split(None, 1)
    return parts[0].lower(), (parts[1] if len(parts) > 1 else "")


def _indent_of(lines: list[str], default: str) -> str:
    for line in lines[1:]:
        if line.strip():
            return line[: len(line) - len(line.lstrip())] or default
    return default


# --- ISOLINUX -----------------------------------------------------------------------------------

@dataclass
class _Block:
    lines: list[str]            # raw lines with their line ends

    @property
    def name(self) -> str:
        return _keyword(self.lines[0])[1].strip()

    def directive(self, key: str) -> str | None:
        """Value of the first `key` line of the entry (key lowercased), None when absent."""
        for line in self.lines[1:]:
            kw, rest = _keyword(line)
            if kw == key:
                return rest
        return None

    def has_menu_default(self) -> bool:
        return any(_is_menu_default(line) for line in self.lines[1:])

    def kernel(self) -> str | None:
        for kw in ("kernel", "linux"):
            value = self.directive(kw)
            if value is not None:
                return value.strip()
        return None


def _is_menu_default(line: str) -> bool:
    kw, rest = _keyword(line)
    return kw == "menu" and rest.strip().lower() == "default"


def _parse_isolinux(text: str) -> tuple[list[str], list[_Block]]:
    head: list[str] = []
    blocks: list[_Block] = []
    for line in _lines(text):
        if _keyword(line)[0] == "label":
            blocks.append(_Block([line]))
        elif blocks:
            blocks[-1].lines.append(line)
        else:
            head.append(line)
    return head, blocks


def _global(head: list[str], key: str) -> str | None:
    for line in head:
        kw, rest = _keyword(line)
        if kw == key:
            return rest.strip()
    return None


def _uses_menu(head: list[str]) -> bool:
    ui = _global(head, "ui")
    default = _global(head, "default") or ""
    first = default.split()[0].lower() if default.split() else ""
    return ui is not None or first.endswith(MENU_MODULES)


def _isolinux_default_block(head: list[str], blocks: list[_Block]) -> _Block | None:
    if _uses_menu(head):
        marked = [b for b in blocks if b.has_menu_default()]
        if marked:
            return marked[0]
    else:
        name = (_global(head, "default") or "").split()[:1]
        for b in blocks:
            if name and b.name == name[0]:
                return b
    return next((b for b in blocks if b.kernel()), None)


def isolinux_entries(text: str) -> list[BootEntry]:
    """The entries of an isolinux.cfg as the boot loader would list them."""
    head, blocks = _parse_isolinux(text)
    default = _isolinux_default_block(head, blocks)
    entries = []
    for b in blocks:
        kernel = b.kernel()
        if kernel is None:
            continue
        entries.append(BootEntry(name=b.name, kernel=kernel,
                                 args=tuple(split_args(b.directive("append") or "")),
                                 default=b is default))
    return entries


def edit_isolinux(text: str, edit: BootEdit, *, source: str = "isolinux.cfg") -> str:
    """Add the kickstart entries to an isolinux.cfg, make one the default, set the timeout."""
    nl = _newline_of(text)
    head, blocks = _parse_isolinux(text)
    template = _isolinux_default_block(head, blocks)
    if template is None or template.kernel() is None:
        raise MediaError(f"{source}: no boot entry with a kernel line to base the kickstart entry on")
    if any(b.name in (edit.label, edit.usb_label) for b in blocks):
        raise MediaError(f"{source}: already has an entry labelled '{edit.label}'",
                         hint="remaster the original media, not a remastered copy, or set boot.label")
    uses_menu = _uses_menu(head)
    indent = _indent_of(template.lines, "  ")
    base_args = split_args(template.directive("append") or "")
    extra_lines = [ln for ln in template.lines[1:] if _keyword(ln)[0] == "initrd"]

    def entry(label: str, title: str, source_args: tuple[str, ...], is_default: bool) -> _Block:
        lines = [f"label {label}{nl}", f"{indent}menu label {title}{nl}"]
        if is_default and uses_menu:
            lines.append(f"{indent}menu default{nl}")
        lines.append(f"{indent}kernel {template.kernel()}{nl}")
        lines += [ln if ln.endswith(("\n", "\r")) else ln + nl for ln in extra_lines]
        lines.append(f"{indent}append {' '.join(with_source(base_args, source_args, edit.args))}{nl}")
        return _Block(lines)

    new_blocks = [
        entry(edit.label, f"^Kickstart install: {edit.label} (CD/DVD)", edit.cd_source, edit.default == "cd"),
        entry(edit.usb_label, f"Kickstart install: {edit.label} (USB stick)", edit.usb_source,
              edit.default == "usb"),
    ]
    if uses_menu:
        # `menu default` moves: drop it from the entry that had it (only that line changes there).
        for b in blocks:
            if b.has_menu_default():
                b.lines = [ln for ln in b.lines if not _is_menu_default(ln)]
    default_label = edit.label if edit.default == "cd" else edit.usb_label
    tenths = max(1, edit.timeout_s * 10)  # isolinux: 0 would mean "wait for ever"
    head = _set_global(head, "timeout", f"timeout {tenths}", after="default", nl=nl)
    if not uses_menu:
        head = _set_global(head, "default", f"default {default_label}", after=None, nl=nl)
    if head and not head[-1].endswith(("\n", "\r")):
        head[-1] += nl
    out = "".join(head) + "".join("".join(b.lines) for b in new_blocks + blocks)
    return out


def _set_global(head: list[str], key: str, line: str, *, after: str | None, nl: str) -> list[str]:
    """Replace the first `key` line of the global section, or add one (after `after`)."""
    out = list(head)
    for i, existing in enumerate(out):
        if _keyword(existing)[0] == key:
            ending = existing[len(existing.rstrip("\r\n")):] or nl
            out[i] = line + ending
            return out
    at = 0
    for i, existing in enumerate(out):
        if after and _keyword(existing)[0] == after:
            at = i + 1
            break
    out.insert(at, line + nl)
    return out


# --- grub legacy (EFI/BOOT/BOOTX64.conf) ---------------------------------------------------

_GRUB_SETTING = re.compile(r"^(?P<key>\w+)(?P<sep>\s*=\s*|\s+)(?P<value>.*?)(?P<end>\r?\n?)$")


def _parse_grub(text: str) -> tuple[list[str], list[list[str]]]:
    head: list[str] = []
    entries: list[list[str]] = []
    for line in _lines(text):
        if _keyword(line.replace("=", " ", 1))[0] == "title":
            entries.append([line])
        elif entries:
            entries[-1].append(line)
        else:
            head.append(line)
    return head, entries


def _grub_value(head: list[str], key: str) -> str | None:
    for line in head:
        m = _GRUB_SETTING.match(line.strip("\r\n").lstrip())
        if m and m.group("key").lower() == key:
            return m.group("value").strip()
    return None


def _grub_default_index(head: list[str], count: int) -> int:
    value = _grub_value(head, "default") or "0"
    return int(value) if value.isdigit() and int(value) < count else 0


def _grub_line(entry: list[str], key: str) -> str | None:
    for line in entry[1:]:
        kw, rest = _keyword(line)
        if kw == key:
            return rest.strip()
    return None


def _grub_title(entry: list[str]) -> str:
    return entry[0].strip().split(None, 1)[1] if len(entry[0].split(None, 1)) > 1 else ""


def grub_legacy_entries(text: str) -> list[BootEntry]:
    """The entries of a grub-legacy config (`title` blocks) as grub would list them."""
    head, entries = _parse_grub(text)
    default = _grub_default_index(head, len(entries))
    out = []
    for i, entry in enumerate(entries):
        kernel_line = split_args(_grub_line(entry, "kernel") or "")
        out.append(BootEntry(name=_grub_title(entry), kernel=kernel_line[0] if kernel_line else "",
                             args=tuple(kernel_line[1:]), default=i == default))
    return out


def edit_grub_legacy(text: str, edit: BootEdit, *, source: str = "BOOTX64.conf") -> str:
    """Add the kickstart entries to a grub-legacy config, make one the default, set the timeout."""
    nl = _newline_of(text)
    head, entries = _parse_grub(text)
    if not entries:
        raise MediaError(f"{source}: no 'title' entry to base the kickstart entry on")
    template = entries[_grub_default_index(head, len(entries))]
    kernel_line = split_args(_grub_line(template, "kernel") or "")
    if not kernel_line:
        raise MediaError(f"{source}: default entry '{_grub_title(template)}' has no kernel line")
    if any(_grub_title(e).startswith(f"Kickstart install: {edit.label} ") for e in entries):
        raise MediaError(f"{source}: already has a kickstart entry for '{edit.label}'",
                         hint="remaster the original media, not a remastered copy, or set boot.label")
    indent = _indent_of(template, "\t")
    initrd = [ln if ln.endswith(("\n", "\r")) else ln + nl
              for ln in template[1:] if _keyword(ln)[0] == "initrd"]

    def entry(title: str, source_args: tuple[str, ...]) -> list[str]:
        args = with_source(kernel_line[1:], source_args, edit.args)
        return [f"title {title}{nl}", f"{indent}kernel {' '.join([kernel_line[0], *args])}{nl}", *initrd]

    new_entries = [entry(f"Kickstart install: {edit.label} (CD/DVD)", edit.cd_source),
                   entry(f"Kickstart install: {edit.label} (USB stick)", edit.usb_source)]
    head = _set_grub(head, "default", "0" if edit.default == "cd" else "1", nl)
    head = _set_grub(head, "timeout", str(max(0, edit.timeout_s)), nl)
    if head and not head[-1].endswith(("\n", "\r")):
        head[-1] += nl
    return "".join(head) + "".join("".join(e) for e in new_entries + entries)


def _set_grub(head: list[str], key: str, value: str, nl: str) -> list[str]:
    """Set `key` keeping the file's own spelling (`key=value` or `key value`)."""
    out = list(head)
    for i, line in enumerate(out):
        lead = line[: len(line) - len(line.lstrip())]
        m = _GRUB_SETTING.match(line.lstrip())
        if m and m.group("key").lower() == key and not line.lstrip().startswith("#"):
            out[i] = f"{lead}{m.group('key')}{m.group('sep')}{value}{m.group('end') or nl}"
            return out
    insert_at = next((i for i, ln in enumerate(out) if ln.strip() and not ln.lstrip().startswith("#")),
                     len(out))
    out.insert(insert_at, f"{key}={value}{nl}" if key == "default" else f"{key} {value}{nl}")
    return out
