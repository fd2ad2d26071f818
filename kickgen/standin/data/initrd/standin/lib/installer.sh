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
. "$LIB/net.sh"                  # the loader's network (ksdevice=, DHCP, ip=, http://)

run_installer() {
	ks_arg=$(cmdline_arg ks) && ks_shown=$ks_arg || ks_shown=none
	cmdline_arg ks >/dev/null || ks_arg=
	say "installer starting (ks=$ks_shown)"
	load_modules
	FIRMWARE=bios
	[ -d /sys/firmware/efi ] && FIRMWARE=uefi
	simulate_biosdevname
	settle_devices
	write_disabled_ifcfg          # every interface, ONBOOT=no, before anything (loader.c:2274)
	# The loader's order: the kickstart first, then the install method it (or repo=) names.
	[ "$ks_shown" = none ] && fail "no kickstart: ks= is not on the kernel command line (the stand-in installer has no interactive mode)"
	fetch_kickstart "$ks_arg"
	say "kickstart read from $KS_PATH via ks=$ks_arg"
	mkdir -p "$KS"
	parse_kickstart 1
	choose_install_source
	kickstart_loader_network
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
	http:*)
		# kickstart.c:395-397 -> urlinstall.c:316-351 getFileFromUrl: the network first
		# (kickstartNetworkUp: ksdevice=, ip=/DHCP), then libcurl into /tmp/ks.cfg.
		KS_PATH=$ks
		loader_network_up || kickstart_download_failed "$ks" "$NET_FAILED"
		http_get "$ks" /tmp/ks.cfg || kickstart_download_failed "$ks" "$HTTP_ERROR"
		;;
	https:*|ftp:*)
		fail "kickstart location not supported by the stand-in installer: ks=$ks (13.21 fetches https:// and ftp:// with libcurl; the stand-in fetches http:// only)"
		;;
	nfs:*)
		fail "kickstart location not supported by the stand-in installer: ks=$ks (NFS; the stand-in fetches http:// only)"
		;;
	'')
		# Bare "ks" (kickstart.c:392-394 -> nfsinstall.c:428-545): the network by DHCP, then NFS
		# from the DHCP boot options: server_name, filename (default /kickstart/), and a file
		# name ending in / gets <client IP>-kickstart appended.
		loader_network_up || kickstart_download_failed "ks" "$NET_FAILED"
		server=$(lease_value "$NET_DEV" sname); [ -n "$server" ] || server=$(lease_value "$NET_DEV" siaddr)
		file=$(lease_value "$NET_DEV" boot_file); [ -n "$file" ] || file=/kickstart/
		case "$file" in */) file="$file$(lease_value "$NET_DEV" ip)-kickstart" ;; esac
		fail "kickstart location not supported by the stand-in installer: ks (no value) reads the kickstart over NFS from the DHCP boot options, here nfs:${server:-<no server>}:$file; the stand-in fetches http:// only"
		;;
	*)
		fail "kickstart location not supported by the stand-in installer: ks=$ks (use cdrom:/path, hd:<device>:/path or file:/path)"
		;;
	esac
}

# kickstart.c:339-362 newKickstartLocation: the loader shows "Error downloading kickstart file"
# with the location to edit, and waits.
kickstart_download_failed() {
	fail "Error downloading kickstart file: Unable to download the kickstart file.  Please modify the kickstart parameter below or press Cancel to proceed as an interactive installation. (ks=$1: $2)"
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

# The install method, as the 13.21 loader ends up with it (INSTALL_SPEC, INSTALL_FROM). The
# kernel line is read first (repo=/method= -> instRepo, loader.c:1088-1093), the kickstart after
# it (runKickstart, loader.c:2304-2313): its url/nfs/harddrive lines set instRepo again
# (urlinstall.c:397-400, nfsinstall.c:403-409, hdinstall.c:397-402), so they win over repo=;
# its cdrom line only sets the method (cdinstall.c:466-470), and repo= then wins, because
# doLoaderMain takes stage 2 from instRepo (loader.c:1355-1380).
choose_install_source() {
	INSTALL_SPEC=; INSTALL_FROM=
	if l=$(ks_line url); then
		INSTALL_SPEC=$(opt_of "$l" url) || INSTALL_SPEC=
		[ -n "$INSTALL_SPEC" ] || fail "Kickstart Error: Must supply a --url argument to Url kickstart method."
		case "$INSTALL_SPEC" in
		http*|ftp://*) ;;
		*) fail "Kickstart Error: Unknown Url method $INSTALL_SPEC" ;;
		esac
		case "$INSTALL_SPEC" in
		*.img) fail "kickstart url --url=$INSTALL_SPEC names a stage 2 image: 13.21 then has no package repository (no --repo for stage 2); the stand-in needs the tree (url --url=<tree>)" ;;
		esac
		INSTALL_FROM=kickstart
	elif l=$(ks_line nfs); then
		INSTALL_SPEC="nfs:$(opt_of "$l" server):$(opt_of "$l" dir)"; INSTALL_FROM=kickstart
	elif l=$(ks_line harddrive); then
		part=$(opt_of "$l" partition) || part=
		dir=$(opt_of "$l" dir) || dir=/
		[ -n "$part" ] || fail "kickstart harddrive line without --partition= (the stand-in does not do --biospart)"
		INSTALL_SPEC="hd:$part:$dir"; INSTALL_FROM=kickstart
	elif INSTALL_SPEC=$(cmdline_arg repo) || INSTALL_SPEC=$(cmdline_arg method); then
		INSTALL_FROM="kernel line"
	elif ks_has cdrom; then
		INSTALL_SPEC=cdrom; INSTALL_FROM=kickstart
	else
		fail "no installation method: the kickstart has no cdrom, harddrive, url or nfs line and the kernel line no repo= (the EL6 loader asks: Installation Method)"
	fi
	if [ "$INSTALL_FROM" = kickstart ] && [ "$INSTALL_SPEC" != cdrom ] && r=$(cmdline_arg repo 2>/dev/null); then
		say "note: the kickstart's install source $INSTALL_SPEC replaces repo=$r (13.21 reads the kickstart after the kernel line)"
	fi
}

# 13.21 marks the kickstart's first network line (kickstart.c:603-617) and brings it up at once
# when the install source is on the network (url/nfs method, or an http/ftp/nfs instRepo;
# net.c:1926-1935), else only with --activate (:1937-1942); later lines only with --activate.
# Each line's settings replace the loader's (net.c:1756-1789): --bootproto dhcp|bootp, static
# with --ip/--netmask/--gateway/--nameserver, --hostname; --device= a name or MAC address (else
# the interface already chosen, or ksdevice=). An interface already up is taken down and set up
# again (activateDevice, net.c:2322-2328). A failure is only logged there: the fetch that needs
# the network then fails.
# shellcheck disable=SC2034  # WANT_DEVICE, KS_NET_*: read by loader_network_up (net.sh)
kickstart_loader_network() {
	awk -F'\t' '$1 == "network"' "$KS/commands" >"$KS/loader-network"
	[ -s "$KS/loader-network" ] || return 0
	network_source=no
	case "$INSTALL_SPEC" in http*|ftp://*|nfs:*|nfsiso:*) network_source=yes ;; esac
	first=yes
	while IFS= read -r l; do
		act=no
		[ "$first" = yes ] && [ "$network_source" = yes ] && act=yes
		opt_of "$l" activate >/dev/null && act=yes
		first=no
		[ "$act" = yes ] || continue
		WANT_DEVICE=${NET_DEV:-$(cmdline_arg ksdevice 2>/dev/null)}
		if ! opt_of "$l" notksdevice >/dev/null && d=$(opt_of "$l" device) && [ -n "$d" ]; then
			WANT_DEVICE=$d
		fi
		bp=$(opt_of "$l" bootproto) || bp=
		KS_NET_IP=$(opt_of "$l" ip) || KS_NET_IP=
		case "$bp" in
		dhcp*|bootp*) KS_NET_METHOD=dhcp ;;
		ibft*) say "note: network --bootproto=ibft: the stand-in has no iBFT; line skipped in the loader"; continue ;;
		*) if [ -n "$KS_NET_IP" ]; then KS_NET_METHOD=static; else KS_NET_METHOD=dhcp; fi ;;
		esac
		KS_NET_MASK=$(opt_of "$l" netmask) || KS_NET_MASK=
		KS_NET_GW=$(opt_of "$l" gateway) || KS_NET_GW=
		KS_NET_DNS=$(opt_of "$l" nameserver) || KS_NET_DNS=
		KS_NET_HOST=$(opt_of "$l" hostname) || KS_NET_HOST=
		# Set up again even if up already (the address is replaced there); another interface
		# already up stays up, as NetworkManager keeps it.
		prev=$NET_DEV; NET_DEV=
		if loader_network_up; then
			say "network: $NET_DEV set up from the kickstart: $(printf '%s' "$l" | tr '\t' ' ')"
		else
			NET_DEV=$prev
			say "note: the kickstart's network line did not bring an interface up ($NET_FAILED): 13.21 only logs it"
		fi
		KS_NET_METHOD=
	done <"$KS/loader-network"
	unset WANT_DEVICE
	return 0
}

# Mount or fetch INSTALL_SPEC. Sets SOURCE_METHOD (cdrom|hd|url) and PROTECTED_DISK (hd: only).
mount_install_source() {
	mkdir -p "$SOURCE"
	SOURCE_METHOD=; PROTECTED_DISK=
	case "$INSTALL_SPEC" in
	cdrom|cdrom:*) mount_cdrom_source ;;
	hd:*) mount_hd_source "$INSTALL_SPEC" ;;
	http://*) fetch_url_source "$INSTALL_SPEC" ;;
	*) fail "install source $INSTALL_SPEC (from the $INSTALL_FROM): not supported by the stand-in installer (it installs from cdrom, hd: and http:// trees; 13.21 also does nfs:, ftp:// and https://)" ;;
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

URL_SOURCE=/tmp/url-source       # what the stand-in fetched from an http:// tree
YUM_UA="urlgrabber/3.9.1 yum/3.2.29"

# An http:// tree (instRepo), fetched in 13.21's order. The loader (stage 1) takes stage 2 from
# stage2=, else <repo>/images/install.img (loader.c:1355-1366; with a repo ending in "/" the
# request has "//", as there), and loadUrlImages fetches updates.img and product.img from the
# same directory first, a missing one silently, then install.img; that failing is "Unable to
# retrieve URL." and the URL Setup dialog (urlinstall.c:162-227, :292-306). Stage 2 then reads
# <repo>/.treeinfo (else treeinfo) for $releasever and again for add-ons (yuminstall.py:749-807,
# :709-747, :922), and yum the repository metadata: repodata/repomd.xml, the primary and group
# files it names (yuminstall.py:1399-1470: none -> "Unable to read package metadata..."). The
# stand-in's kernel package is the tree's images/pxeboot/vmlinuz and initrd.img (the media's
# isolinux/ files, el6-facts 1); the RPMs themselves (Packages/) are not fetched: the
# catalogue installs them, as from the media.
fetch_url_source() {
	repo=$1
	loader_network_up || fail "There was an error configuring your network interface. ($NET_FAILED; the install source $repo needs the network; the EL6 loader goes back to Installation Method and waits)"
	stage2=$(cmdline_arg stage2 2>/dev/null) || stage2="$repo/images/install.img"
	case "$stage2" in http://*) ;; *) fail "stage2=$stage2: the stand-in fetches stage 2 over http:// only" ;; esac
	dir=${stage2%/*}
	say "install source: $repo (url, from the $INSTALL_FROM); stage 2: $stage2"
	rm -rf "$URL_SOURCE"; mkdir -p "$URL_SOURCE"
	for img in updates.img product.img; do
		if http_get "$dir/$img" "$URL_SOURCE/$img"; then
			say "note: $dir/$img fetched (13.21 copies it over stage 2; the stand-in has no stage 2 to change)"
		fi
	done
	http_get "$stage2" "$URL_SOURCE/install.img" ||
		fail "Unable to retrieve $stage2. ($HTTP_ERROR; the EL6 loader then asks for the URL in URL Setup and waits)"
	[ -s "$URL_SOURCE/install.img" ] || fail "Unable to retrieve $stage2. (empty file)"
	# Stage 2 (python, urlgrabber): .treeinfo, as given and as yum normalises the base URL.
	base=${repo%/}/
	if ! http_get "$repo/.treeinfo" "$URL_SOURCE/.treeinfo" urlgrabber/3.9.1; then
		http_get "$repo/treeinfo" "$URL_SOURCE/.treeinfo" urlgrabber/3.9.1 ||
			say "note: no .treeinfo in $repo: \$releasever is the product's (6), as 13.21 does"
	fi
	http_get "$base/.treeinfo" "$URL_SOURCE/.treeinfo-addons" urlgrabber/3.9.1 ||
		http_get "$base/treeinfo" "$URL_SOURCE/.treeinfo-addons" urlgrabber/3.9.1
	metadata_failed() {
		fail "Unable to read package metadata. This may be due to a missing repodata directory.  Please ensure that your install tree has been correctly generated. ($1: $HTTP_ERROR; the EL6 installer offers Exit, Edit, Retry and waits)"
	}
	http_get "${base}repodata/repomd.xml" "$URL_SOURCE/repomd.xml" "$YUM_UA" || metadata_failed "${base}repodata/repomd.xml"
	for type in primary group; do
		href=$(awk -v t="$type" '
			/<data[ \t]/ { inside = ($0 ~ "type=\"" t "\"") }
			inside && /<location / { sub(/.*href="/, ""); sub(/".*/, ""); print; exit }' "$URL_SOURCE/repomd.xml")
		[ -n "$href" ] || { [ "$type" = group ] && continue; HTTP_ERROR="repomd.xml names no primary metadata"; metadata_failed "${base}repodata/repomd.xml"; }
		http_get "$base$href" "$URL_SOURCE/${href##*/}" "$YUM_UA" || metadata_failed "$base$href"
	done
	for f in vmlinuz initrd.img; do
		http_get "${base}images/pxeboot/$f" "$URL_SOURCE/$f" "$YUM_UA" ||
			fail "the stand-in's kernel package: cannot fetch ${base}images/pxeboot/$f ($HTTP_ERROR)"
	done
	SOURCE_METHOD=url
	KERNEL_DIR=$URL_SOURCE
	say "install source ready: stage 2, .treeinfo, repodata and the kernel fetched from $repo"
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

# NIC name for a ksdevice= value (network.py ~346-366: name, MAC, link, bootif); status 1 if none.
ksdevice_nic() {
	want=$1
	for nic in $(network_devices); do
		case "$want" in
		link)
			ip link set dev "$nic" up 2>/dev/null
			[ "$(cat "$SYS_NET/$nic/carrier" 2>/dev/null)" = 1 ] && { echo "$nic"; return 0; } ;;
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
# --device: the ksdevice= interface, else the first active one (the loader's), else the first
# by name. Writes $KS/network: "NIC<TAB>the kickstart line".
resolve_network_devices() {
	: >"$KS/network"
	awk -F'\t' '$1 == "network"' "$KS/commands" >"$KS/network-lines"
	while IFS= read -r l; do
		device=$(opt_of "$l" device) || device=
		hostname=$(opt_of "$l" hostname) || hostname=
		nic=
		if [ -z "$device" ]; then
			ksdev=$(cmdline_arg ksdevice 2>/dev/null) && nic=$(ksdevice_nic "$ksdev")
			[ -n "$nic" ] || nic=$NET_DEV
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
			if [ ! -e "$SYS_NET/$nic" ]; then
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
	cp "${KERNEL_DIR:-$SOURCE/isolinux}/vmlinuz" "$R/boot/vmlinuz-$KREL" || fail "cannot copy vmlinuz from the install source"
	cp "${KERNEL_DIR:-$SOURCE/isolinux}/initrd.img" "$R/boot/initramfs-$KREL.img" || fail "cannot copy initrd.img from the install source"
	mkdir -p "$R/lib/modules/$KREL"
	register_base_packages
	write_system_config
	cp /tmp/ks.cfg "$R/root/anaconda-ks.cfg"
	chmod 600 "$R/root/anaconda-ks.cfg"
	# The network service's DHCP helper, and the service itself on in 2345, as EL6's initscripts
	# package does in its %post (chkconfig --add network).
	cp "$LIB/udhcpc.script" "$R/$STANDIN_LIB/udhcpc.script" && chmod 755 "$R/$STANDIN_LIB/udhcpc.script"
	chroot_mounts
	chroot "$R" /sbin/chkconfig --add network >>"$LOG" 2>&1 || fail "chkconfig --add network failed in the new system (see $LOG)"
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

# ifcfg files of the new system, as 13.21 writes them: the loader's file of every interface
# (disabled, or the one it brought up; net.c:1173-1560) copied in (network.py:588-599), each
# network line's settings laid over its interface's file (kickstart.py:688-767: BOOTPROTO,
# IPADDR/NETMASK, IPV6INIT, ONBOOT, MTU, ETHTOOL_OPTS, DNSn, GATEWAY, DEFROUTE) and every device
# NM_CONTROLLED=yes (network.py:456-466). The loader's /etc/resolv.conf goes along (:603-605).
write_network_config() {
	dir="$R/etc/sysconfig/network-scripts"
	mkdir -p "$dir"
	for f in "$NETSCRIPTS"/ifcfg-*; do
		[ -f "$f" ] && cp "$f" "$dir/"
	done
	while IFS= read -r entry; do
		nic=${entry%%"$(printf '\t')"*}; l=${entry#*"$(printf '\t')"}
		f="$dir/ifcfg-$nic"
		[ -f "$f" ] || printf 'DEVICE=%s\nHWADDR=%s\nTYPE=Ethernet\n' "$nic" "$(nic_mac_upper "$nic")" >"$f"
		bp=$(opt_of "$l" bootproto) || bp=dhcp
		if ! opt_of "$l" noipv4 >/dev/null; then
			ifcfg_set "$f" BOOTPROTO "$bp"
			if [ "$bp" = static ]; then
				v=$(opt_of "$l" ip) && ifcfg_set "$f" IPADDR "$v"
				v=$(opt_of "$l" netmask) && ifcfg_set "$f" NETMASK "$v"
			fi
		fi
		if opt_of "$l" noipv6 >/dev/null; then
			ifcfg_set "$f" IPV6INIT no
		else
			ifcfg_set "$f" IPV6INIT yes
			case "$(opt_of "$l" ipv6)" in
			'') ;;
			auto) ifcfg_set "$f" IPV6_AUTOCONF yes ;;
			dhcp) ifcfg_set "$f" IPV6_AUTOCONF no; ifcfg_set "$f" DHCPV6C yes ;;
			*) ifcfg_set "$f" IPV6_AUTOCONF no; ifcfg_set "$f" IPV6ADDR "$(opt_of "$l" ipv6)" ;;
			esac
		fi
		onboot=yes
		case "$(opt_of "$l" onboot)" in [nN][oO]|[oO][fF][fF]|[fF][aA][lL][sS][eE]|0) onboot=no ;; esac
		ifcfg_set "$f" ONBOOT "$onboot"
		v=$(opt_of "$l" mtu) && ifcfg_set "$f" MTU "$v"
		v=$(opt_of "$l" ethtool) && ifcfg_set "$f" ETHTOOL_OPTS "$v"
		if v=$(opt_of "$l" nameserver); then
			i=1
			for d in $(echo "$v" | tr ',' ' '); do ifcfg_set "$f" "DNS$i" "$d"; i=$((i + 1)); done
		fi
		if v=$(opt_of "$l" gateway); then
			case "$v" in *:*) ifcfg_set "$f" IPV6_DEFAULTGW "$v" ;; *) ifcfg_set "$f" GATEWAY "$v" ;; esac
		fi
		opt_of "$l" nodefroute >/dev/null && ifcfg_set "$f" DEFROUTE no
	done <"$KS/network"
	for f in "$dir"/ifcfg-*; do
		[ -f "$f" ] && [ "${f##*/}" != ifcfg-lo ] && ifcfg_set "$f" NM_CONTROLLED yes
	done
	[ -s "$RESOLV_CONF" ] && cp "$RESOLV_CONF" "$R/etc/resolv.conf"
	awk -F'\t' '$1 == "repo" || $1 == "url" || $1 == "network" || $1 == "cdrom" || $1 == "harddrive" || $1 == "nfs" {
		gsub("\t", " "); print }' "$KS/commands" >"$R/root/kickgen-standin-recorded.txt"
}

# Set KEY=VALUE in an ifcfg FILE: the line replaced where it is, else appended.
ifcfg_set() {
	awk -v k="$2" -v v="$3" 'index($0, k "=") == 1 { print k "=" v; done = 1; next } { print }
		END { if (!done) print k "=" v }' "$1" >"$1.new" && mv "$1.new" "$1"
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
