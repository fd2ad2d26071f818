# Installed mode of the stand-in initrd (root= on the kernel command line): what dracut does
# for a CentOS 6 system, reduced to mount the root file system and switch_root into it.

boot_installed_system() {
	load_modules
	root_arg=$(cmdline_arg root)
	init_arg=$(cmdline_arg init) || init_arg=/sbin/init
	fstype=$(cmdline_arg rootfstype) || fstype=ext4
	mode=ro
	cmdline_arg rw >/dev/null && mode=rw
	n=0
	until root_dev=$(resolve_device "$root_arg"); do
		n=$((n + 1))
		[ "$n" -gt 30 ] && fail "root device not found: root=$root_arg"
		sleep 1
	done
	mkdir -p /sysroot
	mount -t "$fstype" -o "$mode" "$root_dev" /sysroot 2>>"$LOG" ||
		fail "cannot mount root=$root_arg ($root_dev, $fstype)"
	[ -x "/sysroot$init_arg" ] || [ -L "/sysroot$init_arg" ] || fail "no $init_arg on $root_dev"
	umount /dev/pts 2>/dev/null
	# The installed init mounts its own /proc, /sys and /dev.
	mount --move /dev /sysroot/dev 2>/dev/null || umount /dev 2>/dev/null
	umount /sys /proc 2>/dev/null
	exec switch_root /sysroot "$init_arg"
}
