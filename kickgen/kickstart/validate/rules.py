"""Every rule the validator applies: its id, severity, what it means and an example that triggers it.

This table is the one place a rule is declared: the checks refer to it by id, `--disable` takes
its ids, docs/kickgen-validate.md lists it (generated), and each example is a test case.
Shellcheck's own codes (SC2086, ...) are rules too; `shellcheck` names all of them.
"""

from __future__ import annotations

from kickgen.core.errors import UsageError
from kickgen.kickstart.validate.findings import Rule, Severity
from kickgen.kickstart.validate.source import MAX_SCRIPT_LINES

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTE

_RULES = [
    # --- what EL6's parser (pykickstart r1.74 for the targeted release) refuses ---------------
    Rule("unknown-command", E, "a command the EL6 parser does not know (often an EL7+ command)",
         "eula --agreed"),
    Rule("unknown-option", E, "an option the command does not have in the targeted release",
         "bootloader --location=mbr --boot-drive=sda"),
    Rule("too-new", E, "a command or option that a later EL6 release added; the message names it",
         "%packages --nocore"),
    Rule("option-value", E, "an option's value is missing, not allowed, not one of its choices or "
         "not a number, or an abbreviation is ambiguous", "part / --size=big"),
    Rule("required-option", E, "a command without an option it requires", "logvol / --size=1024 --name=root"),
    Rule("argument-count", E, "too many or too few arguments after the options", "zerombr yes"),
    Rule("unknown-section", E, "a section EL6 does not have (%addon, %anaconda, %onerror are EL7+)",
         "%addon com_redhat_kdump --disable\n%end"),
    Rule("stray-end", E, "%end outside a section", "%end"),
    Rule("unclosed-quote", E, "a quote left open (EL6 cuts a command line at its first '#', even "
         "inside quotes)", 'bootloader --append="console=ttyS0 #serial"'),
    Rule("autopart-with-part", E, "autopart together with part/partition: EL6's parser refuses the pair",
         "autopart\npart / --size=1024"),
    Rule("duplicate-logvol", E, "a logical volume name used twice: the parser of 6.0 to 6.4 crashes on it",
         "logvol / --vgname=vg --name=lv --size=1\nlogvol /home --vgname=vg --name=lv --size=1"),
    Rule("include-missing", E, "an %include that neither kickgen nor the installer can find",
         "%include /mnt/source/site.ks"),
    Rule("include-loop", E, "an %include that includes itself, directly or not", "%include ks.cfg"),
    Rule("missing-answer", E, "the unattended install would stop and ask: no root password, "
         "language, keyboard, time zone, boot loader, partitioning or %packages",
         "lang en_US.UTF-8\nkeyboard us\n(no rootpw)"),
    # --- accepted, but wrong or risky ------------------------------------------------------------
    Rule("rootpw-plaintext", W, "the root password is in clear text on the media", "rootpw secret"),
    Rule("rootpw-weak-hash", W, "an MD5 or DES crypt hash: use SHA-512 ($6$)",
         "rootpw --iscrypted $1$salt$qJH7.N4xYta3aEG/dfqo/0"),
    Rule("rootpw-not-hash", W, "--iscrypted before a value that is no crypt hash: nobody can log in",
         "rootpw --iscrypted secret"),
    Rule("bootloader-plaintext-password", W, "a boot loader password in clear text",
         "bootloader --location=mbr --password=secret"),
    Rule("bootloader-hash-as-password", W, "a crypt hash given to --password: grub takes it as the "
         "clear-text password (EL6 wants --md5pass=)", "bootloader --location=mbr --password=$6$salt$..."),
    Rule("plaintext-password", W, "a user's password in clear text (user/sshpw without --iscrypted, or "
         "fed to passwd --stdin or chpasswd in a script)", "user --name=admin --password=secret"),
    Rule("weak-password-hashing", W, "auth/authconfig makes the system hash passwords with MD5",
         "authconfig --enableshadow --enablemd5"),
    Rule("bootloader-not-hash", W, "--md5pass= (or --iscrypted --password=) that is no crypt hash",
         "bootloader --location=mbr --md5pass=CHANGEME"),
    Rule("duplicate-command", W, "a command given twice (the later one wins), or a logical volume, "
         "mount point or network device defined twice", "timezone UTC\ntimezone Europe/Paris"),
    Rule("conflicting-commands", W, "two spellings of one setting (auth/authconfig, reboot/poweroff/halt, "
         "part/partition): the later one wins", "auth --useshadow\nauthconfig --enableshadow"),
    Rule("conflicting-options", W, "options of one line that cancel each other: the last one counts",
         "clearpart --linux --all"),
    Rule("el7-command", W, "a systemd or EL7+ tool in a script EL6 runs", "%post\nsystemctl enable docker\n%end"),
    Rule("el7-argument", W, "an 'inst.' boot argument: EL6 knows these only without the prefix",
         'bootloader --append="inst.text"'),
    Rule("network-not-activated", W, "repos or downloads need the network during the install, but "
         "nothing brings it up", "cdrom\nrepo --name=epel --baseurl=http://mirror/epel/6/x86_64/"),
    Rule("missing-install-method", W, "no install source: it must come from the boot line (repo=/method=)",
         "(no cdrom, url, nfs or harddrive line)"),
    Rule("no-finishing-command", W, "no reboot, poweroff or halt: the installer waits for a key at the end",
         "(no reboot line)"),
    Rule("section-without-end", W, "a section not closed with %end (deprecated in EL6, refused by EL7)",
         "%post\necho done"),
    Rule("disk-initialization", W, "no zerombr and no clearpart --initlabel: a blank disk makes the "
         "installer ask", "clearpart --all\nautopart"),
    Rule("package-name", W, "a %packages line or yum argument that is no package name ('git,', 'a b')",
         "%packages\ngit, vim\n%end"),
    Rule("install-root-path", W, "a script acting on the wrong root: a chroot %post starting services, "
         "setting SELinux or firewall rules of the installer; a --nochroot %post writing /etc or /boot "
         "instead of /mnt/sysimage/...", "%post --nochroot\necho x >> /etc/motd\n%end"),
    Rule("unverified-download", W, "a script downloads over plain http without a checksum, with TLS "
         "checks off, or pipes a download into a shell", "%post\ncurl -k https://site/x.sh | sh\n%end"),
    Rule("deprecated", W, "a command or option EL6 ignores (deprecated)", "key --skip\nmouse none"),
    Rule("line-endings", W, "Windows (CR LF) line endings: the scripts fail on EL6", "%post\\r\necho done\\r\n%end"),
    Rule("comment-cuts-line", W, "EL6 takes everything after the first '#' of a command line as a "
         "comment, even inside a value", "rootpw --iscrypted $6$ab#cd$..."),
    Rule("option-abbreviated", W, "an abbreviated option: EL6 accepts a unique prefix, EL7 and today's "
         "pykickstart do not", "network --boot=dhcp"),
    Rule("pykickstart3-refuses", W, "EL6's parser accepts the line, today's pykickstart RHEL6 handler "
         "refuses it: check it", "network --bootproto=static"),
    Rule("python-syntax", W, "a %pre/%post for /usr/bin/python that EL6's Python 2.6 cannot run",
         "%post --interpreter /usr/bin/python\nprint(f'{x}')\n%end"),
    Rule("shellcheck", W, "shellcheck's findings in a shell script: warning and error levels as "
         "warnings, info and style as notes; each carries shellcheck's own code (SC2086, ...)",
         "%post\nrm -rf $dir/\n%end"),
    # --- notes -----------------------------------------------------------------------------------
    Rule("include-generated", N, "an %include of a file a %pre writes at install time: not checked",
         "%include /tmp/part-include"),
    Rule("script-too-long", N, f"shell scripts of more than {MAX_SCRIPT_LINES:,} lines in all, or a Python "
         "script that long: not given to shellcheck or the Python 2.6 check (their time and memory grow fast "
         "with length)", f"%post\n({MAX_SCRIPT_LINES + 1:,} lines)\n%end"),

]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def is_shellcheck(rule_id: str) -> bool:
    return rule_id.startswith("SC") and rule_id[2:].isdigit()


def check_rule_ids(ids: list[str] | tuple[str, ...]) -> frozenset[str]:
    """`--disable` values: known ids, shellcheck codes, or `shellcheck` for all of those."""
    for rule_id in ids:
        if rule_id not in RULES and not is_shellcheck(rule_id):
            raise UsageError(f"--disable {rule_id}: no such rule (kickgen validate --list-rules)")
    return frozenset(ids)


def is_disabled(rule_id: str, disabled: frozenset[str]) -> bool:
    return rule_id in disabled or (is_shellcheck(rule_id) and "shellcheck" in disabled)


def rules_markdown() -> str:
    """The rules table of docs/kickgen-validate.md."""
    import html

    rows = ["| rule | severity | meaning | example |", "|---|---|---|---|"]
    for rule in _RULES:
        example = "<br>".join(html.escape(line).replace("|", "&#124;") for line in rule.example.splitlines())
        rows.append(f"| `{rule.id}` | {rule.severity.label} | {rule.summary} | <code>{example}</code> |")
    return "\n".join(rows)
