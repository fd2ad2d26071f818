# The kickgen stand-in installer: reads ks= like the EL6 loader, executes the kickstart like
# anaconda 13 would for the commands kickgen uses, and installs the stand-in system.
# Runs under busybox ash as PID 1 of the installer initrd (sourced by /init after common.sh).

KS=/tmp/ks                       # the parsed kickstart (see ks-parse.awk)
SOURCE=/mnt/source               # the install media
SYSIMAGE=/mnt/sysimage           # the new system
SYSROOT_TREE=/standin/sysroot    # files of the stand-in system
CATALOGUE=/standin/packages      # stand-in packages (yum/rpm install from a copy of it)
STANDIN_LIB=usr/lib/kickgen-standin
# Host tools carried by initrd-binaries.txt, called by full path: busybox has weaker ones.
SFDISK=/usr/sbin/sfdisk
MKE2FS=/usr/sbin/mke2fs
EXTLINUX=/usr/bin/extlinux

run_installer() {
	ks_arg=$(cmdline_arg ks) && ks_shown=$ks_arg || ks_shown=none
	cmdline_arg ks >/dev/null || ks_arg=
	say "installer starting (ks=$ks_shown)"
	load_modules
	FIRMWARE=bios
	[ -d /sys/firmware/efi ] && FIRMWARE=uefi
	simulate_biosdevname
	settle_devices
	# The loader's order: the kickstart first, then the install method it (or repo=) names.
	[ "$ks_shown" = none ] && fail "no kickstart: ks= is not on the kernel command line (the stand-in installer has no interactive mode)"
	fetch_kickstart "$ks_arg"
	say "kickstart read from $KS_PATH via ks=$ks_arg"
	mkdir -p "$KS"
	parse_kickstart 1
	mount_install_source
	run_scripts pre
	parse_kickstart 2
	check_required_answers
	while IFS= read -r w; do say "note: $w"; done <"$KS/warnings"
	resolve_network_devices
	plan_storage
	make_storage
	install_system
	install_packages
	apply_services
	install_bootloader
	release_install_source
	run_scripts post
	finish_install
}

# --- devices --------------------------------------------------------------------------------

optical_drives() {
	for d in /sys/block/sr*; do [ -e "$d" ] && echo "/dev/${d##*/}"; done
}

whole_disks() {
	for d in /sys/block/*; do
		case "${d##*/}" in sd*|vd*|hd*|xvd*) echo "/dev/${d##*/}" ;; esac
	done
}

# The whole disk a partition (or disk) device belongs to: /dev/sda1 -> /dev/sda.
disk_of() {
	name=$(readlink -f "/sys/class/block/${1#/dev/}" 2>/dev/null) || { echo "$1"; return; }
	[ -e "$name/partition" ] && name=${name%/*}
	echo "/dev/${name##*/}"
}

# Drivers probe asynchronously: wait until the block device list stops changing (at most 8 s),
# so that "no optical drive" is a definite answer and not a race.
settle_devices() {
	last=; n=0
	while [ "$n" -lt 8 ]; do
		now=$(ls /sys/block 2>/dev/null | tr '\n' ' ')
		[ -n "$now" ] && [ "$now" = "$last" ] && [ "$n" -ge 2 ] && return 0
		last=$now; sleep 1; n=$((n + 1))
	done
}

network_devices() {
	for d in /sys/class/net/*; do
		case "${d##*/}" in lo|'*') ;; *) echo "${d##*/}" ;; esac
	done | sort
}

# biosdevname=1: EL6 on Dell hardware names onboard NICs em1, em2... before anaconda looks at
# them; the stand-in renames ethN to em(N+1) so a kickstart that assumes eth0 fails as there.
simulate_biosdevname() {
	[ "$(cmdline_arg biosdevname 2>/dev/null)" = 1 ] || return 0
	for nic in $(network_devices); do
		case "$nic" in
		eth[0-9]*)
			new=em$((${nic#eth} + 1))
			ip link set dev "$nic" name "$new" 2>>"$LOG" && say "biosdevname: $nic is named $new"
			;;
		esac
	done
}

# --- kickstart ------------------------------------------------------------------------------

# The ISO9660 volume identifier (primary volume descriptor, byte 40, 32 bytes).
volume_label() {
	dd if="$1" bs=1 skip=32808 count=32 2>/dev/null | tr -d '\000' | sed 's/ *$//'
}

# Copy the kickstart named by ks= to /tmp/ks.cfg (anaconda 13.21 loader forms); sets KS_PATH.
fetch_kickstart() {
	ks=$1
	case "$ks" in
	cdrom|cdrom:*)
		# loader/cdinstall.c kickstartFromCD: everything after the first ':' is the path, so
		# ks=cdrom:sr0:/ks.cfg looks for a file named "sr0:/ks.cfg". Optical drives only.
		KS_PATH=${ks#cdrom}; KS_PATH=${KS_PATH#:}
		[ -n "$KS_PATH" ] || KS_PATH=/ks.cfg
		for drive in $(optical_drives); do
			copy_kickstart_from "$drive" "$KS_PATH" && return 0
		done
		[ -n "$(optical_drives)" ] || fail "kickstart file not found: ks=$ks (no optical drive: ks=cdrom: reads optical drives only)"
		fail "kickstart file not found: ks=$ks"
		;;
	hd:*)
		rest=${ks#hd:}
		case "$rest" in *:/*) ;; *) fail "kickstart location not usable: ks=$ks (expected hd:<device>:/<path>)" ;; esac
		spec=${rest%%:*}; KS_PATH=${rest#*:}
		n=0
		until dev=$(resolve_device "$spec"); do
			n=$((n + 1)); [ "$n" -gt 10 ] && fail "kickstart file not found: ks=$ks (no device $spec)"
			sleep 1
		done
		copy_kickstart_from "$dev" "$KS_PATH" && return 0
		fail "kickstart file not found: ks=$ks"
		;;
	file:*)
		KS_PATH=${ks#file:}
		cp "$KS_PATH" /tmp/ks.cfg 2>/dev/null && return 0
		fail "kickstart file not found: ks=$ks"
		;;
	http:*|https:*|ftp:*|nfs:*|'')
		fail "the stand-in installer does not fetch over the network (it has none): ks=${ks:-<empty, meaning NFS from DHCP>}; carry the kickstart on the media (ks=cdrom:/ks.cfg or ks=hd:LABEL=...:/ks.cfg)"
		;;
	*)
		fail "kickstart location not supported by the stand-in installer: ks=$ks (use cdrom:/path, hd:<device>:/path or file:/path)"
		;;
	esac
}

# Mount DEV read-only on /mnt/ksdev and copy PATH from it to /tmp/ks.cfg.
copy_kickstart_from() {
	dev=$1; path=$2
	mkdir -p /mnt/ksdev
	mount_ro "$dev" /mnt/ksdev || return 1
	cp "/mnt/ksdev$path" /tmp/ks.cfg 2>/dev/null; rc=$?
	umount /mnt/ksdev
	return $rc
}

mount_ro() {
	for fs in iso9660 ext4 vfat; do
		mount -t "$fs" -o ro "$1" "$2" 2>/dev/null && return 0
	done
	return 1
}

# --- install source -------------------------------------------------------------------------

# The install method, as the 13.21 loader picks it: repo= (or method=) on the kernel line
# overrides the kickstart's cdrom/harddrive/url/nfs line (loader/loader.c ~1355-1380). Sets
# SOURCE_METHOD (cdrom|hd) and PROTECTED_DISK (hd: only).
mount_install_source() {
	mkdir -p "$SOURCE"
	SOURCE_METHOD=; PROTECTED_DISK=
	if spec=$(cmdline_arg repo) || spec=$(cmdline_arg method); then
		from="kernel line"
	elif ks_has cdrom; then
		spec=cdrom; from=kickstart
	elif l=$(ks_line harddrive); then
		part=$(opt_of "$l" partition) || part=
		dir=$(opt_of "$l" dir) || dir=/
		[ -n "$part" ] || fail "kickstart harddrive line without --partition= (the stand-in does not do --biospart)"
		spec="hd:$part:$dir"; from=kickstart
	elif l=$(ks_line url); then
		spec=$(opt_of "$l" url); from=kickstart
	elif l=$(ks_line nfs); then
		spec="nfs:$(opt_of "$l" server):$(opt_of "$l" dir)"; from=kickstart
	else
		fail "no installation method: the kickstart has no cdrom, harddrive, url or nfs line and the kernel line no repo= (the EL6 loader asks: Installation Method)"
	fi
	case "$spec" in
	cdrom|cdrom:*) mount_cdrom_source ;;
	hd:*) mount_hd_source "$spec" ;;
	*) fail "install source $spec (from the $from) is on the network: the stand-in installer has none" ;;
	esac
}

mount_cdrom_source() {
	drives=$(optical_drives)
	# 13.21 STEP_DRIVER: no device of the method's type -> "No driver found" dialog, waits.
	[ -n "$drives" ] || fail "No driver found: the cdrom install method needs an optical drive and there is none (the EL6 loader asks for a driver disk and waits; use repo=hd:LABEL=<volume id>:/ for a USB stick)"
	for drive in $drives; do
		mount -t iso9660 -o ro "$drive" "$SOURCE" 2>/dev/null || continue
		if [ -f "$SOURCE/.discinfo" ]; then
			SOURCE_METHOD=cdrom
			say "install source: $drive (cdrom, label $(volume_label "$drive"))"
			return 0
		fi
		umount "$SOURCE"
	done
	fail "Disc Not Found: no CentOS disc in the optical drive(s) $(echo $drives) (the EL6 loader asks to insert it and waits)"
}

# hd:<device>:<dir>: an installable tree (repodata/repomd.xml) at DIR, else ISO images in DIR
# (yuminstall.py ~476-500). The device is mounted read-only and its disk is protected from
# clearpart (storage/partitioning.py ~383, ~471).
mount_hd_source() {
	rest=${1#hd:}
	case "$rest" in *:*) ;; *) fail "install source not usable: $1 (expected hd:<device>:<dir>)" ;; esac
	spec=${rest%%:*}; dir=${rest#*:}; dir=/${dir#/}
	n=0
	until dev=$(resolve_device "$spec"); do
		n=$((n + 1)); [ "$n" -gt 10 ] && fail "install source not found: $1 (no device $spec)"
		sleep 1
	done
	mount_ro "$dev" "$SOURCE" || fail "install source not usable: $1 (cannot mount $dev)"
	if [ ! -f "$SOURCE$dir/repodata/repomd.xml" ]; then
		iso=$(ls "$SOURCE$dir"/*.iso 2>/dev/null | head -n 1)
		[ -n "$iso" ] || { umount "$SOURCE"; fail "install source not usable: $1 (no repodata/repomd.xml and no .iso image in $dir of $dev)"; }
		umount "$SOURCE"
		mkdir -p /mnt/isodir
		mount_ro "$dev" /mnt/isodir
		mount -t iso9660 -o ro,loop "/mnt/isodir${iso#"$SOURCE"}" "$SOURCE" 2>>"$LOG" || fail "install source not usable: cannot mount ${iso#"$SOURCE"}"
		dir=/
	fi
	if [ "$dir" != / ]; then
		# Only the tree is the source: bind it over /mnt/source.
		mkdir -p /mnt/isodir; umount "$SOURCE"; mount_ro "$dev" /mnt/isodir
		mount -o bind "/mnt/isodir$dir" "$SOURCE"
	fi
	SOURCE_METHOD=hd; PROTECTED_DISK=$(disk_of "$dev")
	say "install source: $dev (hd:$spec:$dir, label $(volume_label "$dev"); $PROTECTED_DISK is protected)"
}

# 13.21 unmounts the source of a non-CD install once packages are in (yuminstall.py ~1323,
# "if not anaconda.mediaDevice"): %post of an hd: install does not see /mnt/source.
release_install_source() {
	[ "$SOURCE_METHOD" = hd ] || return 0
	umount "$SOURCE" 2>/dev/null
	umount /mnt/isodir 2>/dev/null
	say "install source unmounted before %post (hd: install, as anaconda 13.21 does)"
}

# --- kickstart access -----------------------------------------------------------------------

parse_kickstart() {
	rm -f "$KS"/*
	awk -v out="$KS" -v phase="$1" -f "$LIB/ks-parse.awk" /tmp/ks.cfg 2>"$KS/parse-error" ||
		fail "kickstart $KS_PATH: $(cat "$KS/parse-error")"
}

# Last line of command NAME (tab-separated tokens); status 1 if the kickstart has none.
ks_line() {
	awk -F'\t' -v c="$1" '$1 == c { l = $0 } END { if (l == "") exit 1; print l }' "$KS/commands"
}

ks_has() {
	ks_line "$1" >/dev/null
}

# Value of option --NAME in command line LINE; "" for a flag; status 1 if absent.
opt_of() {
	printf '%s\n' "$1" | awk -F'\t' -v o="--$2" '{
		for (i = 2; i <= NF; i++) {
			if ($i == o) { v = ""; f = 1 }
			else if (index($i, o "=") == 1) { v = substr($i, length(o) + 2); f = 1 }
		}
	} END { if (f) print v; exit !f }'
}

ks_opt() {
	l=$(ks_line "$1") || return 1
	opt_of "$l" "$2"
}

# Positional arguments (not options) of command line LINE, one a line.
args_of() {
	printf '%s\n' "$1" | awk -F'\t' '{ for (i = 2; i <= NF; i++) if ($i !~ /^--/) print $i }'
}

section_opt() {
	awk -v o="--$2" '$0 == o { v = ""; f = 1 } index($0, o "=") == 1 { v = substr($0, length(o) + 2); f = 1 }
		END { if (f) print v; exit !f }' "$1"
}

check_required_answers() {
	for cmd in lang keyboard rootpw timezone; do
		ks_has "$cmd" || fail "kickstart lacks a required answer: $cmd (the EL6 installer would ask for it)"
	done
	ks_has autopart || ks_has part || ks_has partition ||
		fail "kickstart lacks a required answer: storage (no autopart or part lines; the EL6 installer would ask for a partition layout)"
	for cmd in volgroup logvol raid btrfs; do
		ks_has "$cmd" && fail "kickstart uses '$cmd': the stand-in installer does not do LVM or RAID (use autopart or part)"
	done
	if ks_has upgrade; then fail "kickstart asks for 'upgrade': the stand-in installer only installs"; fi
}

# --- network --------------------------------------------------------------------------------

# MAC address of interface NIC, lower case.
nic_mac() {
	cat "/sys/class/net/$1/address" 2>/dev/null
}

# NIC name for a ksdevice= value (network.py ~346-366: name, MAC, link, bootif); status 1 if none.
ksdevice_nic() {
	want=$1
	for nic in $(network_devices); do
		case "$want" in
		link)
			ip link set dev "$nic" up 2>/dev/null
			[ "$(cat "/sys/class/net/$nic/carrier" 2>/dev/null)" = 1 ] && { echo "$nic"; return 0; } ;;
		bootif)
			mac=$(cmdline_arg BOOTIF 2>/dev/null | cut -c4- | tr '-' ':')
			[ -n "$mac" ] && [ "$(nic_mac "$nic")" = "$(echo "$mac" | tr 'A-F' 'a-f')" ] && { echo "$nic"; return 0; } ;;
		*:*)
			[ "$(nic_mac "$nic")" = "$(echo "$want" | tr 'A-F' 'a-f')" ] && { echo "$nic"; return 0; } ;;
		*)
			[ "$nic" = "$want" ] && { echo "$nic"; return 0; } ;;
		esac
	done
	return 1
}

# Each network line names its interface as anaconda 13.21 resolves it (kickstart.py ~641-719):
# --device= is a name, a MAC address, "bootif" (with BOOTIF=) or "ibft"; anything else that is
# not an interface ("link" included) is fatal unless the line only sets --hostname. Without
# --device: the ksdevice= interface, else the first one by name. Writes $KS/network:
# "NIC<TAB>the kickstart line".
resolve_network_devices() {
	: >"$KS/network"
	awk -F'\t' '$1 == "network"' "$KS/commands" >"$KS/network-lines"
	while IFS= read -r l; do
		device=$(opt_of "$l" device) || device=
		hostname=$(opt_of "$l" hostname) || hostname=
		nic=
		if [ -z "$device" ]; then
			ksdev=$(cmdline_arg ksdevice 2>/dev/null) && nic=$(ksdevice_nic "$ksdev")
			[ -n "$nic" ] || nic=$(network_devices | head -n 1)
			# min() of no devices: 13.21 stops with a traceback.
			[ -n "$nic" ] || fail "network: the machine has no network interface (anaconda 13.21 stops with a traceback on a network line without --device)"
		else
			case "$device" in
			[iI][bB][fF][tT]) continue ;;
			[bB][oO][oO][tT][iI][fF])
				cmdline_arg BOOTIF >/dev/null || fail "Using --device=bootif without BOOTIF= boot option supplied"
				nic=$(ksdevice_nic bootif) || nic=$(cmdline_arg BOOTIF | cut -c4- | tr '-' ':') ;;
			*:*) nic=$(ksdevice_nic "$device") || nic=$device ;;
			*) nic=$device ;;
			esac
			if [ ! -e "/sys/class/net/$nic" ]; then
				if [ -n "$hostname" ]; then
					say "note: network --device=$device: no such interface; only the host name is set (as 13.21 does with --hostname)"
					continue
				fi
				# shellcheck disable=SC2046  # echo $(...) joins the list into one line
				fail "The provided network interface $nic does not exist (kickstart: $(printf '%s' "$l" | tr '\t' ' '); interfaces here: $(echo $(network_devices)))"
			fi
		fi
		printf '%s\t%s\n' "$nic" "$l" >>"$KS/network"
	done <"$KS/network-lines"
	return 0
}

# --- %pre / %post ---------------------------------------------------------------------------

run_scripts() {
	kind=$1
	count=$(sed -n "s/^$kind=//p" "$KS/counts")
	i=1
	while [ "$i" -le "${count:-0}" ]; do
		run_script "$kind" "$i" "$count"
		i=$((i + 1))
	done
}

run_script() {
	kind=$1; i=$2; count=$3
	opts="$KS/$kind.$i.opts"
	root=
	if [ "$kind" = post ] && ! section_opt "$opts" nochroot >/dev/null; then root=$SYSIMAGE; fi
	interp=$(section_opt "$opts" interpreter) || interp=/bin/sh
	log=$(section_opt "$opts" log) || log=$(section_opt "$opts" logfile) || log=
	say "running %$kind ($i of $count)"
	if [ ! -x "$root$interp" ]; then
		case "$interp" in
		*/bash|*/sh)
			say "note: %$kind $i: $interp not in the stand-in $( [ -n "$root" ] && echo system || echo installer); running it with /bin/sh (busybox ash)"
			interp=/bin/sh ;;
		esac
	fi
	out="$KS/$kind.$i.out"
	[ -n "$log" ] && out="$root$log" && mkdir -p "${out%/*}"
	script=/tmp/ks-script-$kind-$i
	cp "$KS/$kind.$i" "$root$script"
	if [ ! -x "$root$interp" ]; then
		echo "$interp: not found" >"$out"; rc=127
	elif [ -n "$root" ]; then
		chroot_mounts
		( cd / && exec chroot "$root" env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TERM=vt100 \
			"$interp" "$script" ) </dev/null >"$out" 2>&1
		rc=$?
	else
		( cd / && exec "$interp" "$script" ) </dev/null >"$out" 2>&1
		rc=$?
	fi
	rm -f "$root$script"
	{ echo "--- %$kind $i of $count ($interp${root:+, chroot $root}) exit $rc"; cat "$out"; } >>"$LOG" 2>/dev/null
	[ "$rc" -eq 0 ] && return 0
	if section_opt "$opts" erroronfail >/dev/null; then
		error "%$kind script failed with exit code $rc (--erroronfail): install aborted"
		show_tail "$out"
		wait_at_prompt
	fi
	say "note: %$kind $i of $count exited with code $rc (ignored: no --erroronfail)"
}

chroot_mounts() {
	grep -q " $SYSIMAGE/proc " /proc/mounts && return 0
	mkdir -p "$SYSIMAGE/proc" "$SYSIMAGE/sys" "$SYSIMAGE/dev"
	mount -t proc proc "$SYSIMAGE/proc"
	mount -t sysfs sysfs "$SYSIMAGE/sys"
	mount -o bind /dev "$SYSIMAGE/dev"
}

# --- storage --------------------------------------------------------------------------------

# Disk names (sdb, /dev/sdb, shell globs like sd*) of a comma list, each expanded against the
# disks present; a name that matches none is fatal, as in 13.21 (kickstart.py ~340-426:
# "Specified nonexistent disk X in COMMAND command"). Prints "sda sdb".
expand_disks() {
	out=
	for spec in $(echo "$1" | tr ',' ' '); do
		spec=${spec#/dev/}; hit=
		for dev in $(whole_disks) $(optical_drives); do
			# shellcheck disable=SC2254  # the spec is a glob (sda, sd*, vd?)
			case "${dev#/dev/}" in $spec) hit=1; out="$out ${dev#/dev/}" ;; esac
		done
		[ -n "$hit" ] || fail "Specified nonexistent disk $spec in $2 command"
	done
	echo $out
}

# The disks anaconda 13.21 may use: every whole disk (never an optical drive) minus
# ignoredisk --drives=, or only those of ignoredisk --only-use=. Writes $KS/targets.
list_target_disks() {
	only=$(ks_opt ignoredisk only-use 2>/dev/null) && only=$(expand_disks "$only" ignoredisk) || only=
	ignored=$(ks_opt ignoredisk drives 2>/dev/null) && ignored=$(expand_disks "$ignored" ignoredisk) || ignored=
	: >"$KS/targets"
	for dev in $(whole_disks); do
		name=${dev#/dev/}
		[ "$(cat "/sys/block/$name/size")" -gt 0 ] || continue
		[ -n "$only" ] && ! echo " $only " | grep -q " $name " && continue
		[ -n "$ignored" ] && echo " $ignored " | grep -q " $name " && continue
		echo "$dev" >>"$KS/targets"
	done
}

# Chooses the install disk ($DISK: /boot and /) and writes $KS/layout: "N mountpoint fstype start_sector sectors".
plan_storage() {
	list_target_disks
	ondisk=$(awk -F'\t' '$1 == "part" || $1 == "partition" { for (i = 2; i <= NF; i++)
		if ($i ~ /^--(ondisk|ondrive)=/) { sub(/^--[a-z]+=/, "", $i); print $i; exit } }' "$KS/commands")
	driveorder=$(ks_opt bootloader driveorder 2>/dev/null | tr ',' ' ') || driveorder=
	DISK=
	# The disk holding the hd: source is protected: nothing is cleared or made on it but a PV.
	for name in $ondisk $driveorder $(sed 's|^/dev/||' "$KS/targets"); do
		grep -qx "/dev/${name#/dev/}" "$KS/targets" || continue
		[ "/dev/${name#/dev/}" = "$PROTECTED_DISK" ] && continue
		[ -n "$ondisk" ] && [ "${name#/dev/}" != "$ondisk" ] && continue
		DISK=/dev/${name#/dev/}; break
	done
	# shellcheck disable=SC2046  # echo $(...) joins the list into one line
	[ -n "$DISK" ] || fail "no disk to install to (targets: $(echo $(cat "$KS/targets"))${PROTECTED_DISK:+; $PROTECTED_DISK holds the install source}${ondisk:+; --ondisk=$ondisk}${only:+; only-use: $only})"
	# grub stage 1 goes to the first disk of --driveorder (else the install disk).
	LOADER_DISK=$DISK
	for name in $driveorder; do LOADER_DISK=/dev/${name#/dev/}; break; done
	name=${DISK#/dev/}
	sectors=$(cat "/sys/block/$name/size")
	if ks_has autopart; then
		# EL6 autopart: (/boot/efi on UEFI,) /boot ext4 500 MB, the rest LVM; the stand-in uses a plain / instead.
		: >"$KS/parts"
		[ "$FIRMWARE" = uefi ] && printf 'part\t/boot/efi\t--fstype=efi\t--size=200\n' >>"$KS/parts"
		printf 'part\t/boot\t--fstype=ext4\t--size=500\npart\t/\t--fstype=ext4\t--size=1024\t--grow\n' >>"$KS/parts"
	else
		awk -F'\t' '$1 == "part" || $1 == "partition"' "$KS/commands" >"$KS/parts"
	fi
	# GPT (UEFI, as EL6 does there) keeps its backup header in the last sectors.
	reserve=0; [ "$FIRMWARE" = uefi ] && reserve=2048
	awk -F'\t' -v total="$((sectors - reserve))" -v out="$KS/layout" '
	function opt(name,    i) { for (i = 2; i <= NF; i++) {
		if ($i == "--" name) return "yes"
		if (index($i, "--" name "=") == 1) return substr($i, length(name) + 4) }
		return "" }
	{
		mnt = ""; for (i = 2; i <= NF; i++) if ($i !~ /^--/) { mnt = $i; break }
		if (mnt == "") { print "a part line has no mount point"; exit 1 }
		if (mnt ~ /^(raid|pv)\./) { print "part " mnt ": the stand-in installer does not do LVM or RAID"; exit 1 }
		if (opt("onpart") != "" || opt("usepart") != "") { print "part " mnt ": --onpart is not supported by the stand-in installer"; exit 1 }
		fs = opt("fstype"); if (mnt == "swap") fs = "swap"; if (fs == "") fs = "ext4"
		if (fs == "vfat" && mnt == "/boot/efi") fs = "efi"
		if (fs !~ /^(ext4|ext3|ext2|swap|efi)$/) { print "part " mnt ": file system " fs " is not supported by the stand-in installer (ext4, ext3, ext2, swap, efi)"; exit 1 }
		size = opt("size"); if (size == "" || size == "yes") size = (opt("recommended") != "" ? 1024 : 1)
		n++; M[n] = mnt; F[n] = fs; S[n] = size * 2048; G[n] = (opt("grow") != ""); X[n] = opt("maxsize") * 2048
		if (G[n]) grows++
		used += S[n]
	}
	END {
		if (n == 0) { print "no partitions"; exit 1 }
		if (n > 4) { print n " partitions: the stand-in installer makes primary partitions only (at most 4)"; exit 1 }
		free = total - 2048 - used
		if (free < 0) { printf "the partitions need %d MB but the disk has %d MB\n", (used + 2048) / 2048, total / 2048; exit 1 }
		start = 2048
		for (i = 1; i <= n; i++) {
			size = S[i]
			if (G[i]) { extra = int(free / grows); if (X[i] > 0 && size + extra > X[i]) extra = X[i] - size; size += extra }
			size = int(size / 2048) * 2048
			if (start + size > total) size = total - start
			print i, M[i], F[i], start, size > out
			start += size
		}
	}' "$KS/parts" >"$KS/layout-error" ||
		fail "kickstart storage: $(cat "$KS/layout-error")"
	BOOT_PART=$(awk '$2 == "/boot" { print $1 }' "$KS/layout")
	ROOT_PART=$(awk '$2 == "/" { print $1 }' "$KS/layout")
	[ -n "$ROOT_PART" ] || fail "kickstart storage: no / partition"
	[ -n "$BOOT_PART" ] || BOOT_PART=$ROOT_PART
	ESP_PART=$(awk '$2 == "/boot/efi" { print $1 }' "$KS/layout")
	if [ "$FIRMWARE" = uefi ] && [ -z "$ESP_PART" ]; then
		fail "kickstart storage: booted with UEFI, the install needs an EFI system partition (part /boot/efi --fstype=efi --size=200), as EL6 does"
	fi
}

disk_has_label() {
	[ "$(dd if="$1" bs=1 skip=510 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 55aa ]
}

disk_has_partitions() {
	# shellcheck disable=SC2010  # sysfs block names are plain words
	ls /sys/block/"${1#/dev/}"/ | grep -q "^${1#/dev/}[0-9]"
}

part_dev() {
	case "$DISK" in *[0-9]) echo "${DISK}p$1" ;; *) echo "$DISK$1" ;; esac
}

# Sectors of disk DEV after its last partition (all of it without partitions).
free_tail_sectors() {
	name=${1#/dev/}
	size=$(cat "/sys/block/$name/size")
	end=0
	for p in /sys/block/"$name"/"$name"*; do
		[ -e "$p/start" ] || continue
		e=$(($(cat "$p/start") + $(cat "$p/size")))
		[ "$e" -gt "$end" ] && end=$e
	done
	echo $((size - end))
}

# Zero the first and last MiB of DEV: the partition table (and a GPT's backup) is gone.
wipe_disk() {
	sectors=$(cat "/sys/block/${1#/dev/}/size")
	dd if=/dev/zero of="$1" bs=512 count=2048 conv=notrunc 2>/dev/null
	[ "$sectors" -gt 4096 ] && dd if=/dev/zero of="$1" bs=512 seek=$((sectors - 2048)) count=2048 conv=notrunc 2>/dev/null
	blockdev --rereadpt "$1" 2>/dev/null
	sync
}

# clearpart --all/--linux clears every target disk (or those of --drives=), except the one
# holding the install source (storage/partitioning.py ~383, ~471). --linux is treated as --all.
clear_disks() {
	l=$(ks_line clearpart) || return 0
	opt_of "$l" all >/dev/null || opt_of "$l" linux >/dev/null || return 0
	drives=$(opt_of "$l" drives) && drives=$(expand_disks "$drives" clearpart) || drives=
	for dev in $(cat "$KS/targets"); do
		[ -n "$drives" ] && ! echo " $drives " | grep -q " ${dev#/dev/} " && continue
		[ "$dev" = "$PROTECTED_DISK" ] && continue
		disk_has_label "$dev" || disk_has_partitions "$dev" || continue
		say "clearpart: clearing $dev"
		wipe_disk "$dev"
		echo "$dev" >>"$KS/cleared"
	done
}

# autopart, as 13.21 (storage/partitioning.py ~44-85): an LVM physical volume on every other
# target disk with more than 100 MB free; a disk with partitions kept (the protected source)
# gets one after its last partition.
make_lvm_pvs() {
	ks_has autopart || return 0
	label=dos; type=8e; [ "$FIRMWARE" = uefi ] && { label=gpt; type=E6D6D379-F507-44C2-A23C-238F2A3DF928; }
	for dev in $(cat "$KS/targets"); do
		[ "$dev" = "$DISK" ] && continue
		free=$(free_tail_sectors "$dev")
		[ "$free" -gt 204800 ] || continue
		if disk_has_partitions "$dev"; then
			[ "$(ls -d /sys/block/"${dev#/dev/}"/"${dev#/dev/}"* 2>/dev/null | wc -l)" -lt 4 ] || continue
			echo ",,$type" | $SFDISK -q --append "$dev" >>"$LOG" 2>&1 || continue
		else
			printf 'label: %s\nstart=2048, type=%s\n' "$label" "$type" | $SFDISK -q "$dev" >>"$LOG" 2>&1 ||
				fail "autopart: partitioning $dev failed (sfdisk; see $LOG)"
		fi
		say "autopart: LVM physical volume on $dev"
	done
}

make_storage() {
	initlabel=no
	ks_has zerombr && initlabel=yes
	ks_opt clearpart initlabel >/dev/null && initlabel=yes
	# 13.21 asks about every target disk without a partition table unless told to initialize.
	for dev in $(cat "$KS/targets"); do
		[ "$dev" = "$PROTECTED_DISK" ] && continue
		if ! disk_has_label "$dev" && [ "$initlabel" = no ]; then
			fail "disk $dev has no partition table and the kickstart has neither zerombr nor clearpart --initlabel (the EL6 installer would ask whether to initialize it)"
		fi
	done
	clear_disks
	if disk_has_label "$DISK" && disk_has_partitions "$DISK"; then
		fail "disk $DISK has partitions and the kickstart does not clear them (clearpart --all): the stand-in installer only installs onto a cleared disk"
	fi
	label=dos; [ "$FIRMWARE" = uefi ] && label=gpt
	say "partitioning $DISK ($( [ "$label" = gpt ] && echo "GPT label, UEFI" || echo "msdos label")): $(awk '{ printf "%s%s %s %d MB", (NR > 1 ? ", " : ""), $2, $3, $5 / 2048 }' "$KS/layout")"
	dd if=/dev/zero of="$DISK" bs=512 count=2048 2>/dev/null
	awk -v boot="$BOOT_PART" -v label="$label" 'BEGIN { print "label: " label }
		label == "gpt" { printf "start=%d, size=%d, type=%s\n", $4, $5, ($3 == "swap" ? "S" : ($3 == "efi" ? "U" : "L")) }
		label == "dos" { printf "start=%d, size=%d, type=%s%s\n", $4, $5, ($3 == "swap" ? "82" : ($3 == "efi" ? "ef" : "83")), ($1 == boot ? ", bootable" : "") }' \
		"$KS/layout" >"$KS/sfdisk.in"
	$SFDISK -q "$DISK" <"$KS/sfdisk.in" >>"$LOG" 2>&1 || fail "partitioning $DISK failed (sfdisk; see $LOG)"
	while read -r n mnt fs _start size; do
		dev=$(part_dev "$n")
		wait_for_device "$dev" 10 || fail "partition $dev did not appear after partitioning"
		uuid=$(cat /proc/sys/kernel/random/uuid)
		say "creating $fs file system on $dev ($mnt)"
		case "$fs" in
		swap) mkswap "$dev" >>"$LOG" 2>&1 ;;
		efi) mkdosfs -F 32 "$dev" >>"$LOG" 2>&1 && uuid=$(fat_volume_id "$dev") ;;
		# The features of EL6's e2fsprogs 1.41 (no 64bit, no metadata_csum): what extlinux
		# and a 2013 kernel expect.
		ext4) $MKE2FS -q -F -t ext4 -O ^64bit,^metadata_csum -U "$uuid" "$dev" >>"$LOG" 2>&1 ;;
		*) $MKE2FS -q -F -t "$fs" -U "$uuid" "$dev" >>"$LOG" 2>&1 ;;
		esac || fail "making a $fs file system on $dev failed (see $LOG)"
		echo "$n $mnt $fs $dev $uuid" >>"$KS/filesystems"
	done <"$KS/layout"
	make_lvm_pvs
	# Mount / first, then the others by path depth.
	mkdir -p "$SYSIMAGE"
	awk '$3 != "swap" { print (($2 == "/") ? 0 : gsub("/", "/", $2)), $0 }' "$KS/filesystems" | sort -n |
	while read -r _depth n mnt fs dev uuid; do
		mkdir -p "$SYSIMAGE$mnt"
		[ "$fs" = efi ] && fs=vfat
		mount -t "$fs" "$dev" "$SYSIMAGE$mnt" 2>>"$LOG" || echo "$dev" >>"$KS/mount-failed"
	done
	[ -s "$KS/mount-failed" ] && fail "cannot mount $(cat "$KS/mount-failed") (see $LOG)"
	return 0
}

# The volume serial of a FAT32 file system as fstab and GRUB write it (XXXX-XXXX).
fat_volume_id() {
	dd if="$1" bs=1 skip=67 count=4 2>/dev/null | od -An -tx1 | awk '{ printf "%s%s-%s%s\n", toupper($4), toupper($3), toupper($2), toupper($1) }'
}

fs_field() {  # fs_field MOUNTPOINT FIELD(4=dev 5=uuid 3=fstype)
	awk -v m="$1" -v f="$2" '$2 == m { print $f }' "$KS/filesystems"
}

# --- the new system -------------------------------------------------------------------------

install_system() {
	say "installing the stand-in system into $SYSIMAGE"
	KREL=$(uname -r)
	R=$SYSIMAGE
	for d in bin sbin usr/bin usr/sbin usr/lib usr/share lib etc/sysconfig/network-scripts \
		etc/yum.repos.d etc/rc.d/init.d boot/grub root home tmp mnt media opt srv dev proc sys \
		var/log var/run var/lock/subsys var/lib/rpm var/tmp var/spool "$STANDIN_LIB"; do
		mkdir -p "$R/$d"
	done
	for l in 0 1 2 3 4 5 6; do mkdir -p "$R/etc/rc.d/rc$l.d"; ln -sfn "rc.d/rc$l.d" "$R/etc/rc$l.d"; done
	chmod 1777 "$R/tmp" "$R/var/tmp"
	chmod 700 "$R/root"
	# The stand-in's own files first, then busybox applet links where no file of that name is
	# (never copy over a link: it would write through it into the installer's busybox).
	cp -a "$SYSROOT_TREE/." "$R/"
	cp /bin/busybox "$R/bin/busybox" || fail "cannot copy /bin/busybox into $R"
	# shellcheck disable=SC2010  # the stand-in's own file names are plain words
	own=$(cd "$SYSROOT_TREE" && ls bin sbin usr/bin usr/sbin 2>/dev/null | grep -v ':$' | sort -u)
	busybox --list-full | while read -r applet; do
		[ "$applet" = bin/busybox ] || [ -e "$R/$applet" ] || [ -L "$R/$applet" ] && continue
		echo "$own" | grep -qxF "${applet##*/}" && continue
		ln -s /bin/busybox "$R/$applet"
	done
	for dir in bin sbin usr/bin usr/sbin; do
		for f in "$SYSROOT_TREE/$dir"/*; do [ -f "$f" ] && chmod 755 "$R/$dir/${f##*/}"; done
	done
	# /bin/sh is dash (with the C library the installer carries): busybox ash would run its own
	# "rpm" applet instead of the stand-in /bin/rpm, whatever $PATH says.
	cp /usr/bin/dash "$R/bin/dash" || fail "no /usr/bin/dash in the installer"
	rm -f "$R/bin/sh"; ln -s dash "$R/bin/sh"
	for lib in /lib/x86_64-linux-gnu/* /lib64/*; do
		[ -f "$lib" ] || continue
		mkdir -p "$R${lib%/*}"; cp "$lib" "$R$lib"
	done
	chmod 755 "$R/etc/rc.d/init.d/"* "$R/etc/rc.d/rc" "$R/etc/rc.d/rc.sysinit" "$R/etc/rc.d/rc.local" "$R/$STANDIN_LIB"/* 2>/dev/null
	ln -sfn rc.d/init.d "$R/etc/init.d"
	ln -sfn rc.d/rc.local "$R/etc/rc.local"
	ln -sfn centos-release "$R/etc/redhat-release"
	ln -sfn centos-release "$R/etc/system-release"
	mkdir -p "$R/usr/share/kickgen-standin"
	cp -a "$CATALOGUE" "$R/usr/share/kickgen-standin/packages"
	# The kernel and initrd of the media, under the names an EL6 kernel package uses.
	cp "$SOURCE/isolinux/vmlinuz" "$R/boot/vmlinuz-$KREL" || fail "cannot copy isolinux/vmlinuz from the media"
	cp "$SOURCE/isolinux/initrd.img" "$R/boot/initramfs-$KREL.img" || fail "cannot copy isolinux/initrd.img from the media"
	mkdir -p "$R/lib/modules/$KREL"
	register_base_packages
	write_system_config
	cp /tmp/ks.cfg "$R/root/anaconda-ks.cfg"
	chmod 600 "$R/root/anaconda-ks.cfg"
}

register_base_packages() {
	db="$R/var/lib/rpm/standin"
	mkdir -p "$db"
	# The running kernel is Debian's: record it under the release it reports.
	printf 'name=kernel\nversion=%s\nrelease=standin\narch=x86_64\nsummary=The Linux kernel (the stand-in boots the kernel of its media)\n' \
		"$KREL" >"$db/kernel"
	printf '/boot/vmlinuz-%s\n/boot/initramfs-%s.img\n' "$KREL" "$KREL" >"$db/kernel.files"
}

write_system_config() {
	lang=$(args_of "$(ks_line lang)" | head -n 1)
	keymap=$(args_of "$(ks_line keyboard)" | head -n 1)
	tzline=$(ks_line timezone); zone=$(args_of "$tzline" | head -n 1)
	utc=false; opt_of "$tzline" utc >/dev/null && utc=true; opt_of "$tzline" isUtc >/dev/null && utc=true
	hostname=$(awk -F'\t' '$1 == "network" { for (i = 2; i <= NF; i++) if ($i ~ /^--hostname=/) h = substr($i, 12) } END { print h }' "$KS/commands")
	[ -n "$hostname" ] || hostname=localhost.localdomain
	printf 'LANG="%s"\nSYSFONT="latarcyrheb-sun16"\n' "$lang" >"$R/etc/sysconfig/i18n"
	printf 'KEYTABLE="%s"\nMODEL="pc105+inet"\nLAYOUT="%s"\nKEYBOARDTYPE="pc"\n' "$keymap" "$keymap" >"$R/etc/sysconfig/keyboard"
	printf 'ZONE="%s"\n' "$zone" >"$R/etc/sysconfig/clock"
	[ "$utc" = true ] && echo "UTC=True" >>"$R/etc/sysconfig/clock"
	printf 'NETWORKING=yes\nHOSTNAME=%s\n' "$hostname" >"$R/etc/sysconfig/network"
	echo "$hostname" >"$R/etc/hostname"
	printf '# UPDATEDEFAULT specifies if new-kernel-pkg should make\n# new kernels the default\nUPDATEDEFAULT=yes\n\n# DEFAULTKERNEL specifies the default kernel package type\nDEFAULTKERNEL=kernel\n' \
		>"$R/etc/sysconfig/kernel"
	write_network_config
	write_security_config
	write_root_password
	write_fstab
}

# network lines are recorded as ifcfg files of the interface each resolved to (see
# resolve_network_devices); the stand-in never brings a network up.
write_network_config() {
	awk -F'\t' -v dir="$R/etc/sysconfig/network-scripts" '{
		dev = $1; proto = "dhcp"; onboot = "yes"; line = $2
		for (i = 3; i <= NF; i++) {
			if ($i ~ /^--bootproto=/) proto = substr($i, 13)
			if ($i ~ /^--onboot=/) onboot = substr($i, 10)
			line = line " " $i
		}
		mac = ""; f = "/sys/class/net/" dev "/address"
		if ((getline mac < f) <= 0) mac = ""
		close(f)
		f = dir "/ifcfg-" dev
		printf "DEVICE=%s\n", dev > f
		if (mac != "") printf "HWADDR=%s\n", toupper(mac) > f
		printf "BOOTPROTO=%s\nONBOOT=%s\nTYPE=Ethernet\n# recorded by the kickgen stand-in installer: %s\n", proto, onboot, line > f
		close(f)
	}' "$KS/network"
	awk -F'\t' '$1 == "repo" || $1 == "url" || $1 == "network" || $1 == "cdrom" || $1 == "harddrive" || $1 == "nfs" {
		gsub("\t", " "); print }' "$KS/commands" >"$R/root/kickgen-standin-recorded.txt"
}

write_security_config() {
	mode=enforcing
	l=$(ks_line selinux) && { opt_of "$l" permissive >/dev/null && mode=permissive; opt_of "$l" disabled >/dev/null && mode=disabled; }
	mkdir -p "$R/etc/selinux"
	printf 'SELINUX=%s\nSELINUXTYPE=targeted\n' "$mode" >"$R/etc/selinux/config"
	if l=$(ks_line firewall); then
		printf '%s\n' "$l" | tr '\t' '\n' | sed 1d >"$R/etc/sysconfig/system-config-firewall"
	fi
	if l=$(ks_line firstboot); then
		run=YES; opt_of "$l" disable >/dev/null && run=NO; opt_of "$l" disabled >/dev/null && run=NO
		echo "RUN_FIRSTBOOT=$run" >"$R/etc/sysconfig/firstboot"
	fi
}

write_root_password() {
	l=$(ks_line rootpw)
	pw=$(args_of "$l" | head -n 1)
	if opt_of "$l" iscrypted >/dev/null; then hash=$pw
	else hash=$(mkpasswd -m sha512 "$pw" 2>/dev/null) || hash='!!'
	fi
	opt_of "$l" lock >/dev/null && hash="!$hash"
	days=$(( $(date +%s) / 86400 ))
	sed -i "s|^root:[^:]*:[^:]*:|root:$hash:$days:|" "$R/etc/shadow"
	chmod 000 "$R/etc/shadow"
}

write_fstab() {
	{
		echo "#"
		echo "# /etc/fstab"
		echo "# Created by anaconda on $(date)"
		echo "#"
		echo "# Accessible filesystems, by reference, are maintained under '/dev/disk'"
		echo "# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info"
		echo "#"
		# / first, then by depth: /boot before /boot/efi.
		awk '{ print (($2 == "/") ? 0 : gsub("/", "/", $2)), $0 }' "$KS/filesystems" | sort -n -s -k1,1 | cut -d' ' -f2- |
		awk '{ pass = ($2 == "/") ? 1 : 2
			if ($3 == "swap") printf "%-23s swap                    swap    defaults        0 0\n", $4
			else if ($3 == "efi") printf "UUID=%s          %-23s vfat    umask=0077,shortname=winnt 0 0\n", $5, $2
			else printf "UUID=%s %-23s %-7s defaults        1 %d\n", $5, $2, $3, pass }' 
		echo "tmpfs                   /dev/shm                tmpfs   defaults        0 0"
		echo "devpts                  /dev/pts                devpts  gid=5,mode=620  0 0"
		echo "sysfs                   /sys                    sysfs   defaults        0 0"
		echo "proc                    /proc                   proc    defaults        0 0"
	} >"$R/etc/fstab"
}

# %packages: stand-in catalogue names are installed by the stand-in yum; other names (the
# real DVD's packages) and groups are recorded in /root/install.log only. --nogpgcheck: anaconda
# 13.21 checks no signatures of what it installs from the media (the media is trusted).
install_packages() {
	[ -f "$KS/packages" ] || return 0
	wanted=; recorded=
	while IFS= read -r p; do
		p=$(echo "$p" | sed 's/#.*//; s/^[ \t]*//; s/[ \t]*$//')
		case "$p" in ''|-*) continue ;; esac
		if [ -d "$CATALOGUE/$p" ]; then wanted="$wanted $p"; else recorded="$recorded $p"; fi
	done <"$KS/packages"
	{ echo "Installing packages (kickgen stand-in):"; for p in $recorded; do echo "recorded only (not on the stand-in media): $p"; done; } >>"$R/root/install.log"
	[ -n "$wanted" ] || return 0
	say "installing packages:$wanted"
	chroot_mounts
	chroot "$R" env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root yum -y --nogpgcheck install $wanted </dev/null >>"$R/root/install.log" 2>&1 ||
		fail "installing packages failed:$wanted (see /root/install.log)"
}

# services --enabled=a,b --disabled=c: chkconfig in the new system, as anaconda does.
apply_services() {
	l=$(ks_line services) || return 0
	for state in enabled disabled; do
		names=$(opt_of "$l" "$state") || continue
		for name in $(echo "$names" | tr ',' ' '); do
			[ "$state" = enabled ] && onoff=on || onoff=off
			chroot "$R" /sbin/chkconfig "$name" "$onoff" >>"$LOG" 2>&1 ||
				say "note: services --$state=$name: no such service in the stand-in system"
		done
	done
}

# --- boot loader ----------------------------------------------------------------------------

install_bootloader() {
	bl=$(ks_line bootloader) || bl=bootloader
	location=$(opt_of "$bl" location) || location=mbr
	append=$(opt_of "$bl" append) || append=
	timeout=$(opt_of "$bl" timeout) || timeout=5
	boot_dev=$(fs_field /boot 4); [ -n "$boot_dev" ] || boot_dev=$(fs_field / 4)
	prefix=; [ -n "$(fs_field /boot 4)" ] || prefix=/boot
	grub_part=$((BOOT_PART - 1))
	root_uuid=$(fs_field / 5)
	serial=no
	serial_is_console && serial=yes
	args="ro root=UUID=$root_uuid rd_NO_LUKS rd_NO_LVM rd_NO_MD rd_NO_DM LANG=$lang KEYBOARDTYPE=pc KEYTABLE=$keymap"
	[ -n "$append" ] && args="$args $append"
	if [ "$serial" = yes ]; then
		echo " $args " | grep -q ' console=ttyS0' || args="$args console=ttyS0,115200n8"
	fi
	{
		echo "# grub.conf generated by anaconda"
		echo "#"
		echo "# Note that you do not have to rerun grub after making changes to this file"
		if [ -z "$prefix" ]; then
			echo "# NOTICE:  You have a /boot partition.  This means that"
			echo "#          all kernel and initrd paths are relative to /boot/, eg."
		else
			echo "# NOTICE:  You do not have a /boot partition.  This means that"
			echo "#          all kernel and initrd paths are relative to /, eg."
		fi
		echo "#          root (hd0,$grub_part)"
		echo "#          kernel $prefix/vmlinuz-version ro root=$(fs_field / 4)"
		echo "#          initrd $prefix/initrd-[generic-]version.img"
		if [ "$FIRMWARE" = uefi ]; then echo "#boot=$(part_dev "$ESP_PART")"; else echo "#boot=$LOADER_DISK"; fi
		echo "default=0"
		echo "timeout=$timeout"
		if [ "$serial" = yes ]; then
			echo "serial --unit=0 --speed=115200"
			echo "terminal --timeout=$timeout serial console"
		else
			echo "splashimage=(hd0,$grub_part)$prefix/grub/splash.xpm.gz"
			echo "hiddenmenu"
		fi
		echo "title CentOS ($KREL)"
		printf '\troot (hd0,%s)\n' "$grub_part"
		printf '\tkernel %s/vmlinuz-%s %s\n' "$prefix" "$KREL" "$args"
		printf '\tinitrd %s/initramfs-%s.img\n' "$prefix" "$KREL"
	} >"$KS/grub.conf"
	# EL6 keeps grub.conf in /boot/grub with BIOS and next to grub.efi on the ESP with UEFI.
	if [ "$FIRMWARE" = uefi ]; then
		grub_conf=boot/efi/EFI/redhat/grub.conf
		rmdir "$R/boot/grub" 2>/dev/null
	else
		grub_conf=boot/grub/grub.conf
		ln -sfn grub.conf "$R/boot/grub/menu.lst"
	fi
	mkdir -p "$R/${grub_conf%/*}"
	cp "$KS/grub.conf" "$R/$grub_conf"
	chmod 600 "$R/$grub_conf"
	ln -sfn "../$grub_conf" "$R/etc/grub.conf"
	printf 'boot=%s\nforcelba=0\n' "$LOADER_DISK" >"$R/etc/sysconfig/grub"
	if [ "$location" = none ]; then
		say "boot loader: none (bootloader --location=none): the disk will not boot by itself"
		return 0
	fi
	[ "$FIRMWARE" = uefi ] && { install_grub_efi; return; }
	say "installing the boot loader: extlinux in /boot/extlinux, MBR of $LOADER_DISK (grub.conf stays the menu)"
	mkdir -p "$R/boot/extlinux"
	$EXTLINUX --install "$R/boot/extlinux" >>"$LOG" 2>&1 || fail "extlinux --install failed (see $LOG)"
	mbr=/usr/lib/syslinux/mbr/mbr.bin
	[ -r "$mbr" ] || fail "no $mbr in the installer"
	dd if="$mbr" of="$LOADER_DISK" bs=440 count=1 conv=notrunc 2>>"$LOG" || fail "writing the MBR of $LOADER_DISK failed"
	update_extlinux_conf
}

# UEFI: a GRUB 2 EFI binary on the ESP (EFI/redhat/grub.efi, as EL6's grub.efi, and the removable
# path EFI/BOOT/BOOTX64.EFI since nothing sets NVRAM boot entries) that reads the EL6 grub.conf
# next to it with legacy_configfile at every boot: no generated copy to keep in step.
GRUB_EFI_MODULES="fat ext2 part_gpt part_msdos normal legacycfg linux search search_fs_uuid echo test sleep efi_gop efi_uga configfile serial terminfo"
install_grub_efi() {
	esp_uuid=$(fs_field /boot/efi 5)
	dir="$R/boot/efi/EFI/redhat"
	say "installing the boot loader: GRUB 2 EFI on the ESP ($(part_dev "$ESP_PART")), reading EFI/redhat/grub.conf"
	printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/EFI/redhat\n' "$esp_uuid" >"$KS/grub-early.cfg"
	printf '# kickgen stand-in: GRUB 2 boots what the EL6 grub.conf next to this file says.\nlegacy_configfile ${prefix}/grub.conf\n' >"$dir/grub.cfg"
	/usr/bin/grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -c "$KS/grub-early.cfg" -p /EFI/redhat \
		-o "$dir/grub.efi" $GRUB_EFI_MODULES >>"$LOG" 2>&1 || fail "grub-mkimage failed (see $LOG)"
	mkdir -p "$R/boot/efi/EFI/BOOT"
	cp "$dir/grub.efi" "$R/boot/efi/EFI/BOOT/BOOTX64.EFI"
}

# extlinux.conf is generated from grub.conf (the file EL6 tools edit) by the installed
# system's own helper, so grubby and the installer agree on it.
update_extlinux_conf() {
	[ -d "$R/boot/extlinux" ] || return 0
	sh "$R/$STANDIN_LIB/grub2extlinux" "$R/boot/grub/grub.conf" "$R/boot/extlinux/extlinux.conf" >>"$LOG" 2>&1 ||
		fail "cannot generate extlinux.conf from grub.conf (see $LOG)"
}

# --- the end --------------------------------------------------------------------------------

finish_install() {
	R=$SYSIMAGE
	update_extlinux_conf
	action=
	action_line=
	for a in reboot poweroff shutdown halt; do ks_has "$a" && action=$a && action_line=$(ks_line "$a"); done
	[ "$action" = shutdown ] && action=poweroff
	cp "$LOG" "$R/var/log/kickgen-standin-install.log" 2>/dev/null
	sync
	for m in $(awk -v r="$SYSIMAGE" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	umount "$SOURCE" 2>/dev/null
	sync
	# anaconda ~1135-1141: only --eject ejects, and then every optical drive; a disk never.
	if [ -n "$action_line" ] && opt_of "$action_line" eject >/dev/null; then
		for drive in $(optical_drives); do
			say "ejecting $drive"
			/usr/bin/eject "$drive" >>"$LOG" 2>&1 || say "note: eject $drive failed (see $LOG)"
		done
	fi
	if [ -z "$action" ]; then
		say "install complete: press enter to reboot"
		say "waiting at prompt (as the EL6 installer would)"
		read -r _ </dev/console
		action=reboot
	else
		say "install complete: $action"
	fi
	sleep 1
	case "$action" in
	reboot) reboot -f ;;
	halt) halt -f ;;
	*) poweroff -f ;;
	esac
	while :; do sleep 3600; done
}
