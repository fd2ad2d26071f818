# Shared by both modes of the stand-in initrd: console output, prompts, kernel arguments, modules.

LOG=/tmp/standin-install.log

mount_pseudo_filesystems() {
	mkdir -p /proc /sys /dev /tmp /run
	mount -t proc proc /proc 2>/dev/null
	mount -t sysfs sysfs /sys 2>/dev/null
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mkdir -p /dev/pts
	mount -t devpts devpts /dev/pts 2>/dev/null
	: >>"$LOG"
}

# The value of kernel argument NAME (last one wins); status 1 when absent.
# "ks" alone (no "=") prints nothing and succeeds. CMDLINE_FILE lets the tests feed a command line.
cmdline_arg() {
	awk -v want="$1" '{
		for (i = 1; i <= NF; i++) {
			if ($i == want) { v = ""; found = 1 }
			else if (index($i, want "=") == 1) { v = substr($i, length(want) + 2); found = 1 }
		}
	} END { if (found) print v; exit !found }' "${CMDLINE_FILE:-/proc/cmdline}"
}

# The stock isolinux.cfg has no console=, so /dev/console is the VGA console; progress also goes
# straight to the first serial port, unless that port already is the console.
serial_is_console() {
	case "$(cmdline_arg console)" in ttyS0*) return 0 ;; esac
	return 1
}

say() {
	line="kickgen-standin: $*"
	echo "$line" >/dev/console 2>/dev/null
	serial_is_console || echo "$line" >/dev/ttyS0 2>/dev/null
	echo "$line" >>"$LOG"
}

error() {
	say "ERROR: $*"
}

# Show the last lines of a log file on the console (for aborted scripts).
show_tail() {
	tail -n "${2:-15}" "$1" 2>/dev/null | while IFS= read -r l; do say "  | $l"; done
}

# The EL6 installer stops and asks when it lacks an answer; unattended, that is a hang.
wait_at_prompt() {
	say "waiting at prompt (as the EL6 installer would)"
	while :; do sleep 3600; done
}

fail() {
	error "$*"
	wait_at_prompt
}

# insmod the modules the media builder listed, in its order (paths in the initrd).
load_modules() {
	[ -r /standin/modules.list ] || { error "no /standin/modules.list in the initrd"; return; }
	while IFS= read -r module; do
		case "$module" in ''|'#'*) continue ;; esac
		insmod "$module" >>"$LOG" 2>&1 || echo "insmod failed: $module" >>"$LOG"
	done </standin/modules.list
}

# Wait up to $2 seconds for block device $1 to appear (devtmpfs fills /dev asynchronously).
wait_for_device() {
	n=0
	while [ ! -b "$1" ] && [ "$n" -lt "${2:-10}" ]; do sleep 1; n=$((n + 1)); done
	[ -b "$1" ]
}

# LABEL=x, UUID=x or a /dev path (or a bare name like sdb1) to a /dev path; status 1 if unknown.
resolve_device() {
	case "$1" in
	LABEL=*|UUID=*) findfs "$1" 2>/dev/null ;;
	/dev/*) [ -b "$1" ] && echo "$1" ;;
	*) [ -b "/dev/$1" ] && echo "/dev/$1" ;;
	esac
}
