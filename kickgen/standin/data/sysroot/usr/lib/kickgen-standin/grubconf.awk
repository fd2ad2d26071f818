# Reads and edits an EL6 /boot/grub/grub.conf (GRUB legacy). Used by the stand-in's grubby,
# new-kernel-pkg and grub2extlinux, and by the stand-in installer, so all of them agree.
#
#   awk -v action=ACTION [-v path=... -v title=... ...] -f grubconf.awk grub.conf
#
# Actions that print:  info (path=ALL|/boot/vmlinuz-X), default-kernel, default-index,
#                      default-title, extlinux (extlinux.conf text)
# Actions that print the edited grub.conf:  set-default (path), set-default-index (index),
#                      add-kernel (path, initrd, title, args, copy_default, make_default),
#                      update-kernel (path=ALL|..., args, remove_args), remove-kernel (path)
# Exit status 3: no entry matched the given kernel path.
#
# Kernel paths: grub.conf names them relative to the partition holding /boot ("/vmlinuz-X" when
# /boot is its own partition, "/boot/vmlinuz-X" otherwise); grubby shows and takes "/boot/...".

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function full(p) { sub(/^\([^)]*\)/, "", p); return (p ~ /^\/boot\//) ? p : "/boot" p }
function on_disk(p) { p = full(p); return boot_partition ? substr(p, 6) : p }
function word1(s) { s = trim(s); sub(/[ \t=].*/, "", s); return s }
function rest1(s) { s = trim(s); if (!match(s, /[ \t=]/)) return ""; return trim(substr(s, RSTART + 1)) }

{
    sub(/\r$/, "")
    line = $0; key = word1(line)
    if (key == "title") {
        n++; T[n] = rest1(line); L[n] = line; NL[n] = 0
        K[n] = ""; A[n] = ""; I[n] = ""; R[n] = ""
        next
    }
    if (n == 0) {
        H[++nh] = line
        if (key == "default") { dflt = rest1(line); default_line = nh }
        if (key == "timeout") timeout = rest1(line)
        if (key == "serial") serial = line
        if (key == "hiddenmenu") hidden = 1
        if (line ~ /NOTICE:  You have a \/boot partition/) boot_partition = 1
        next
    }
    E[n, ++NL[n]] = line
    if (key == "kernel") {
        v = rest1(line); K[n] = v; sub(/[ \t].*/, "", K[n])
        A[n] = (index(v, " ") || index(v, "\t")) ? trim(substr(v, length(K[n]) + 1)) : ""
        if (K[n] !~ /^(\([^)]*\))?\/boot\//) boot_partition = 1
    }
    if (key == "initrd") I[n] = rest1(line)
    if (key == "root") R[n] = rest1(line)
}

function default_index() { d = dflt + 0; if (dflt == "" || dflt !~ /^[0-9]+$/ || d >= n) d = 0; return d }

function args_without_root(a,    w, m, i, s) {
    m = split(a, w, /[ \t]+/); s = ""
    for (i = 1; i <= m; i++) if (w[i] !~ /^root=/ && w[i] != "") s = s (s == "" ? "" : " ") w[i]
    return s
}
function root_arg(a,    w, m, i) {
    m = split(a, w, /[ \t]+/)
    for (i = 1; i <= m; i++) if (w[i] ~ /^root=/) return substr(w[i], 6)
    return ""
}
function matches(i, p) { return p == "ALL" || full(K[i]) == full(p) }
function find(p,    i) { for (i = 1; i <= n; i++) if (matches(i, p)) return i; return 0 }

function print_header(newdefault,    i, done) {
    for (i = 1; i <= nh; i++) {
        if (i == default_line) { print "default=" newdefault; done = 1; continue }
        print H[i]
    }
    if (!done && newdefault != "") print "default=" newdefault
}
# Header, then entries; an entry's lines are rebuilt when its kernel args changed (NEWA).
function print_entries(from,    i, j, key) {
    for (i = from; i <= n; i++) {
        if (i in DROP) continue
        print L[i]
        for (j = 1; j <= NL[i]; j++) {
            key = word1(E[i, j])
            if (key == "kernel" && (i in NEWA)) { print "\tkernel " K[i] (NEWA[i] == "" ? "" : " " NEWA[i]); continue }
            print E[i, j]
        }
    }
}
function argkey(w) { sub(/=.*/, "", w); return w }
# grubby semantics: an --args word replaces the first argument of the same name, else it is
# appended; --remove-args drops every argument of that name.
function with_args(a, add, remove,    w, m, i, j, nw, drop, out, placed) {
    m = split(remove, w, /[ \t]+/)
    for (i = 1; i <= m; i++) if (w[i] != "") drop[argkey(w[i])] = 1
    nw = split(a, out, /[ \t]+/)
    m = split(add, w, /[ \t]+/)
    for (i = 1; i <= m; i++) {
        if (w[i] == "") continue
        placed = 0
        for (j = 1; j <= nw; j++) if (out[j] != "" && argkey(out[j]) == argkey(w[i])) { out[j] = w[i]; placed = 1; break }
        if (!placed) out[++nw] = w[i]
    }
    s = ""
    for (j = 1; j <= nw; j++) if (out[j] != "" && !(argkey(out[j]) in drop)) s = s (s == "" ? "" : " ") out[j]
    return s
}

END {
    d = default_index()
    if (action == "default-index") { print (n ? d : -1); exit 0 }
    if (action == "default-kernel") { if (!n) exit 1; print full(K[d + 1]); exit 0 }
    if (action == "default-title") { if (!n) exit 1; print T[d + 1]; exit 0 }
    if (action == "info") {
        found = 0
        for (i = 1; i <= n; i++) {
            if (!matches(i, path)) continue
            found = 1
            print "index=" (i - 1)
            print "kernel=" full(K[i])
            print "args=\"" args_without_root(A[i]) "\""
            r = root_arg(A[i]); if (r != "") print "root=" r
            if (I[i] != "") print "initrd=" full(I[i])
            print "title=" T[i]
        }
        exit (found ? 0 : 3)
    }
    if (action == "set-default") {
        i = find(path); if (!i) exit 3
        print_header(i - 1); print_entries(1); exit 0
    }
    if (action == "set-default-index") {
        if (index_arg !~ /^[0-9]+$/ || index_arg + 0 >= n) exit 3
        print_header(index_arg + 0); print_entries(1); exit 0
    }
    if (action == "update-kernel") {
        found = 0
        for (i = 1; i <= n; i++) if (matches(i, path)) { NEWA[i] = with_args(A[i], args, remove_args); found = 1 }
        if (!found) exit 3
        print_header(dflt); print_entries(1); exit 0
    }
    if (action == "remove-kernel") {
        found = 0; nd = d
        for (i = 1; i <= n; i++) if (matches(i, path)) { DROP[i] = 1; found = 1; if (i - 1 < d) nd-- }
        if (!found) exit 3
        if ((d + 1) in DROP) nd = 0
        print_header(nd < 0 ? 0 : nd); print_entries(1); exit 0
    }
    if (action == "add-kernel") {
        src = n ? d + 1 : 0
        newargs = (copy_default && src) ? with_args(A[src], args, "") : args
        root = (src && R[src] != "") ? R[src] : "(hd0,0)"
        print_header(n == 0 || make_default ? 0 : d + 1)
        print "title " title
        print "\troot " root
        print "\tkernel " on_disk(path) (newargs == "" ? "" : " " newargs)
        if (initrd != "") print "\tinitrd " on_disk(initrd)
        print_entries(1)
        exit 0
    }
    if (action == "extlinux") {
        print "# Generated from /boot/grub/grub.conf by the kickgen stand-in (grub2extlinux)."
        print "# Do not edit: grubby, new-kernel-pkg and shutdown regenerate it; edit grub.conf."
        if (serial != "") {
            unit = 0; speed = 9600
            if (match(serial, /--unit=[0-9]+/)) unit = substr(serial, RSTART + 7, RLENGTH - 7)
            if (match(serial, /--speed=[0-9]+/)) speed = substr(serial, RSTART + 8, RLENGTH - 8)
            print "SERIAL " unit " " speed
        }
        # GRUB shows its menu for `timeout` seconds; the stand-in boots the default at once.
        print "PROMPT 0"
        print "TIMEOUT " ((timeout == "" ? 5 : timeout) * 10)
        print "DEFAULT entry" d
        for (i = 1; i <= n; i++) {
            print ""
            print "LABEL entry" (i - 1)
            print "\tMENU LABEL " T[i]
            k = K[i]; sub(/^\([^)]*\)/, "", k); print "\tLINUX " k
            if (I[i] != "") { r = I[i]; sub(/^\([^)]*\)/, "", r); print "\tINITRD " r }
            if (A[i] != "") print "\tAPPEND " A[i]
        }
        exit 0
    }
    print "grubconf.awk: unknown action " action > "/dev/stderr"
    exit 2
}
