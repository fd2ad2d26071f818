# Kickstart parser of the kickgen stand-in installer (POSIX awk; busybox awk runs it).
#
#   awk -v out=/tmp/ks -v phase=1|2 -f ks-parse.awk ks.cfg
#
# Writes into OUT (which must exist):
#   commands        one command a line: NAME<TAB>ARG<TAB>ARG...  Arguments are split like a shell
#                   (quotes, backslashes, # comments) and options that take a value are joined
#                   to it, so "--size 500" and "--size=500" both read "--size=500".
#   pre.N, post.N   the body of the N-th %pre / %post section (N from 1)
#   pre.N.opts ...  that section's header options, one a line (--nochroot, --log=/x, ...)
#   packages        the %packages body; packages.opts its header options
#   warnings        things the EL6 installer would accept silently but the stand-in notes
# Phase 1 (before %pre runs) skips an %include whose file does not exist yet, as anaconda does
# when it first reads the file; phase 2 (after %pre) fails on it. Exit status 2 with one
# "line N: ..." message on stderr for a kickstart the EL6 installer would refuse.

BEGIN {
    TAB = "\t"
    # Options that take a value when written "--opt value" (RHEL6 pykickstart, common ones).
    split("part:size part:maxsize part:fstype part:ondisk part:ondrive part:label part:fsoptions " \
          "part:onpart part:start part:end part:fsprofile part:bytes-per-inode part:usepart " \
          "partition:size partition:maxsize partition:fstype partition:ondisk partition:ondrive " \
          "partition:label partition:fsoptions partition:onpart " \
          "bootloader:location bootloader:append bootloader:driveorder bootloader:password " \
          "bootloader:md5pass bootloader:timeout timezone:ntpservers clearpart:drives ignoredisk:drives ignoredisk:only-use " \
          "network:device network:bootproto network:ip network:netmask network:gateway " \
          "network:nameserver network:hostname network:onboot network:ethtool network:mtu " \
          "network:essid network:wepkey network:ipv6 network:ipv6gateway network:dhcpclass " \
          "network:dhcptimeout network:vlanid network:bondslaves network:bondopts " \
          "repo:name repo:baseurl repo:mirrorlist repo:cost repo:excludepkgs repo:includepkgs " \
          "repo:proxy url:url url:proxy harddrive:partition harddrive:dir nfs:server nfs:dir " \
          "nfs:opts firewall:service firewall:port firewall:trust logging:level logging:host " \
          "logging:port user:name user:password user:groups user:homedir user:shell user:uid " \
          "services:enabled services:disabled autopart:passphrase keyboard:vckeymap " \
          "%pre:interpreter %pre:log %pre:logfile %post:interpreter %post:log %post:logfile",
          v, " ")
    for (i in v) valueopt[v[i]] = 1
    section = ""
    npre = 0; npost = 0
    if (out == "") out = "/tmp/ks"
    commands = out "/commands"; warnings = out "/warnings"
    printf "" > commands
    printf "" > warnings
    failed = 0
}

function fail(msg) {
    printf "line %d: %s\n", FNR, msg > "/dev/stderr"
    failed = 1
    exit 2
}

# Split S like a POSIX shell into W[1..n]; returns n. Quotes group, backslash escapes,
# an unquoted # at the start of a word starts a comment.
function shsplit(s, W,    n, i, c, cur, q, have) {
    n = 0; cur = ""; q = ""; have = 0
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q == "'") { if (c == "'") q = ""; else cur = cur c; continue }
        if (q == "\"") {
            if (c == "\"") q = ""
            else if (c == "\\" && i < length(s)) { i++; cur = cur substr(s, i, 1) }
            else cur = cur c
            continue
        }
        if (c == " " || c == "\t") { if (have) { W[++n] = cur; cur = ""; have = 0 } continue }
        if (c == "#" && !have) break
        if (c == "'" || c == "\"") { q = c; have = 1; continue }
        if (c == "\\" && i < length(s)) { i++; cur = cur substr(s, i, 1); have = 1; continue }
        cur = cur c; have = 1
    }
    if (q != "") fail("unterminated quote")
    if (have) W[++n] = cur
    return n
}

# Normalise W[1..n] (W[1] is the command) into OUTW; returns the count.
function normalise(cmd, W, n, OUTW,    i, m, opt) {
    m = 0
    for (i = 1; i <= n; i++) {
        if (i > 1 && W[i] ~ /^--[A-Za-z0-9_-]+$/ && (cmd ":" substr(W[i], 3)) in valueopt && i < n) {
            OUTW[++m] = W[i] "=" W[i + 1]; i++
        } else OUTW[++m] = W[i]
    }
    return m
}

function emit_command(line,    W, N, n, m, i, s) {
    n = shsplit(line, W)
    if (n == 0) return
    m = normalise(W[1], W, n, N)
    s = N[1]
    for (i = 2; i <= m; i++) s = s TAB N[i]
    print s >> commands
}

function open_section(name, line,    W, N, n, m, i, file) {
    n = shsplit(line, W)
    m = normalise(name, W, n, N)
    if (name == "%pre") { file = out "/pre." (++npre) }
    else if (name == "%post") { file = out "/post." (++npost) }
    else if (name == "%packages") { file = out "/packages" }
    else { file = out "/traceback" }
    printf "" > file
    printf "" > (file ".opts")
    for (i = 2; i <= m; i++) print N[i] >> (file ".opts")
    close(file ".opts")
    section = name; body = file
}

function close_section() {
    if (body != "") close(body)
    section = ""; body = ""
}

function include(path,    line, ok) {
    ok = 0
    while ((getline line < path) > 0) { ok = 1; handle(line) }
    close(path)
    if (!ok && phase == 2) fail("%include " path ": file not found")
}

function handle(line,    W, n, head) {
    sub(/\r$/, "", line)
    head = line; sub(/^[ \t]+/, "", head)
    if (head ~ /^%/) {
        n = shsplit(head, W)
        if (W[1] == "%end") {
            if (section == "") fail("%end outside a section")
            close_section(); return
        }
        if (W[1] == "%include") {
            if (section != "" && section != "%packages") { print line >> body; return }
            include(W[2]); return
        }
        if (W[1] == "%ksappend") return
        if (W[1] == "%pre" || W[1] == "%post" || W[1] == "%packages" || W[1] == "%traceback") {
            if (section != "") {
                # RHEL6 still accepted a section ended by the next one; EL7 does not.
                print "line " FNR ": " section " section not closed by %end" >> warnings
                close_section()
            }
            open_section(W[1], head); return
        }
        if (section == "") fail("unknown section " W[1])
    }
    if (section != "") { print line >> body; return }
    emit_command(line)
}

{ handle($0) }

END {
    if (failed) exit 2
    if (section != "") print "end of file: " section " section not closed by %end" >> warnings
    close_section()
    print "pre=" npre > (out "/counts")
    print "post=" npost >> (out "/counts")
    close(out "/counts")
}
