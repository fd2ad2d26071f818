# Boot messages of the installed stand-in: to the console and, unless the console already is
# the first serial port, to ttyS0 as well (the harness reads the serial port).
standin_say() {
	echo "kickgen-standin: $*" >/dev/console 2>/dev/null
	case " $(cat /proc/cmdline 2>/dev/null) " in
	*" console=ttyS0"*) last=$(tr ' ' '\n' </proc/cmdline | grep '^console=' | tail -n 1)
		case "$last" in console=ttyS0*) return 0 ;; esac ;;
	esac
	echo "kickgen-standin: $*" >/dev/ttyS0 2>/dev/null
}
