# The stand-in installer's network, as anaconda 13.21.215's loader brings it up (stage 1):
# ksdevice=/BOOTIF= pick the interface (loader/net.c chooseNetworkInterface), ip=/netmask=/
# gateway=/dns= or DHCP configure it (loader/loader.c parseCmdLineIp, net.c setupIfaceStruct,
# readNetConfig), and http:// kickstarts and install trees are fetched as its libcurl does
# (loader/urls.c urlinstTransfer, loader/urlinstall.c). busybox udhcpc stands in for
# NetworkManager's dhclient, busybox wget for libcurl. Sourced by installer.sh after common.sh.
#
# SYS_NET lets the fast tests give a fake /sys/class/net; everything else reads the real system.

# shellcheck disable=SC2034  # NET_DEV, NET_METHOD, NET_FAILED are read by installer.sh
SYS_NET=${SYS_NET:-/sys/class/net}
NET_STATE=${NET_STATE:-/tmp/net}            # lease files and notes of the loader's network
NETSCRIPTS=${NETSCRIPTS:-/etc/sysconfig/network-scripts}   # the loader's ifcfg files (net.c:1289)
RESOLV_CONF=${RESOLV_CONF:-/etc/resolv.conf}
UDHCPC_SCRIPT=/standin/lib/udhcpc.script
ANACONDA_VERSION=13.21.215
NET_DEV=                                   # the interface the loader brought up, "" while none
NET_METHOD=                                # dhcp | static
NET_FAILED=                                # why bringing it up failed (for the caller's message)

network_devices() {
	for d in "$SYS_NET"/*; do
		case "${d##*/}" in lo|'*') ;; *) echo "${d##*/}" ;; esac
	done | sort
}

# MAC address of interface NIC, lower case (as sysfs has it); nic_mac_upper as 13.21 compares them
# (isys/iface.c iface_mac2str upper-cases, net.c:1981 str2upper).
nic_mac() {
	cat "$SYS_NET/$1/address" 2>/dev/null
}

nic_mac_upper() {
	nic_mac "$1" | tr 'a-f' 'A-F'
}

# The MAC address of BOOTIF= the way 13.21 reads it: the value minus its first three characters
# (the ARP type "01-"), '-' -> ':' (loader/loader.c:1060-1068), upper case; status 1 without BOOTIF=.
bootif_mac() {
	v=$(cmdline_arg BOOTIF) || return 1
	v=${v#???}
	printf '%s\n' "$v" | tr '-' ':' | tr 'a-f' 'A-F'
}

nic_has_link() {
	ip link set dev "$1" up 2>/dev/null
	[ "$(cat "$SYS_NET/$1/carrier" 2>/dev/null)" = 1 ]
}

# 13.21 checks the link num_link_checks times a second (5, linksleep= changes it; loader.c:128, :1125).
link_checks() {
	n=$(cmdline_arg linksleep 2>/dev/null) || n=5
	case "$n" in ''|*[!0-9]*) n=5 ;; esac
	echo "$n"
}

# The interface the loader installs through, as chooseNetworkInterface (net.c:1948-2251) picks it:
# WANT (ksdevice=, or a kickstart network --device=) names an interface or its MAC address, or is
# "bootif" (the MAC of BOOTIF=, when given) or "link" (the first interface with link, sorted by
# name, looked for linksleep= seconds). A device that matches is used even without link (after
# waiting for it). Nothing matched: the only interface is used whatever WANT said; with several,
# 13.21 asks "Networking Device". Prints the name; status 1: no interface at all, 2: it would ask.
choose_install_nic() {
	want=$1
	devs=$(network_devices)
	[ -n "$devs" ] || return 1
	if [ -n "$want" ]; then
		key=$want
		case "$want" in
		[bB][oO][oO][tT][iI][fF]) m=$(bootif_mac) && key=$m ;;
		esac
		key=$(printf '%s\n' "$key" | tr 'a-z' 'A-Z')
		for nic in $devs; do
			if [ "$nic" = "$want" ] || [ "$(nic_mac_upper "$nic")" = "$key" ]; then
				# BZ 784001 (net.c:2036-2049): wait for link, then use it whatever the link says.
				n=0; checks=$(link_checks)
				until nic_has_link "$nic" || [ "$n" -ge "$checks" ]; do sleep 1; n=$((n + 1)); done
				nic_has_link "$nic" || echo "$nic has no link after $checks s; 13.21 uses it anyway" >>"$NET_STATE/notes"
				echo "$nic"
				return 0
			fi
		done
		if [ "$want" = link ]; then
			n=0; checks=$(link_checks)
			while [ "$n" -lt "$checks" ]; do
				for nic in $devs; do
					nic_has_link "$nic" && { echo "$nic"; return 0; }
				done
				sleep 1; n=$((n + 1))
			done
			echo "ksdevice=link: no interface has link; 13.21 falls back to asking" >>"$NET_STATE/notes"
		fi
	fi
	# shellcheck disable=SC2086  # the list is plain interface names
	set -- $devs
	[ $# -eq 1 ] && { echo "$1"; return 0; }
	return 2
}

# One line naming every interface with its MAC address, for messages.
describe_nics() {
	out=
	for nic in $(network_devices); do out="$out${out:+, }$nic ($(nic_mac "$nic"))"; done
	echo "${out:-none}"
}

# What the loader configures, from the boot arguments (loader.c:1101-1112, parseCmdLineIp
# :826-867): ip=dhcp or no ip= -> DHCP (activateDevice defaults to it, net.c:2354-2357);
# ip=ADDR -> static with netmask=, gateway=, dns= (comma list); ip=ADDR:SERVER:GW:MASK (pxelinux
# IPAPPEND 1) carries gateway and netmask itself. Sets BOOT_IP BOOT_MASK BOOT_GW BOOT_DNS.
read_boot_ip_args() {
	BOOT_IP=$(cmdline_arg ip 2>/dev/null) || BOOT_IP=
	BOOT_MASK=$(cmdline_arg netmask 2>/dev/null) || BOOT_MASK=
	BOOT_GW=$(cmdline_arg gateway 2>/dev/null) || BOOT_GW=
	BOOT_DNS=$(cmdline_arg dns 2>/dev/null) || BOOT_DNS=
	case "$BOOT_IP" in
	*:*)
		rest=${BOOT_IP#*:}; BOOT_IP=${BOOT_IP%%:*}
		case "$rest" in *:*)
			rest=${rest#*:}                       # the boot server is not used
			case "$rest" in
			*:*) BOOT_GW=${rest%%:*}; BOOT_MASK=${rest#*:} ;;
			*) BOOT_GW=$rest ;;
			esac ;;
		esac ;;
	esac
	case "$BOOT_IP" in
	''|[dD][hH][cC][pP]*) BOOT_IP=dhcp ;;
	[iI][bB][fF][tT]*) BOOT_IP=ibft ;;
	esac
}

is_ipv4() {
	printf '%s\n' "$1" | awk -F. 'NF == 4 { for (i = 1; i <= 4; i++) if ($i !~ /^[0-9]+$/ || $i > 255) exit 1; ok = 1 } END { exit !ok }'
}

# Prefix length of a dotted netmask (status 1 if it is not one); without a netmask, the classful
# default NetworkManager's ifcfg-rh plugin applies to an IPADDR without NETMASK/PREFIX.
mask_bits() {
	printf '%s\n' "$1" | awk -F. 'NF != 4 { exit 1 } {
		bits = 0; seen0 = 0
		for (i = 1; i <= 4; i++) {
			v = $i + 0; if ($i !~ /^[0-9]+$/ || v > 255) exit 1
			for (b = 128; b >= 1; b = int(b / 2)) {
				if (v >= b) { if (seen0) exit 1; bits++; v -= b } else seen0 = 1
			}
		}
		print bits }'
}

classful_bits() {
	first=${1%%.*}
	if [ "$first" -lt 128 ]; then echo 8; elif [ "$first" -lt 192 ]; then echo 16; else echo 24; fi
}

bits_mask() {   # busybox awk has no ^: the octet values by table
	awk -v b="$1" 'BEGIN { split("0 128 192 224 240 248 252 254 255", m, " ")
		for (i = 0; i < 4; i++) { n = (b >= 8) ? 8 : (b > 0 ? b : 0); b -= n
			printf "%s%d", (i ? "." : ""), m[n + 1] } print "" }'
}

# Bring NIC up by DHCP (busybox udhcpc in place of NetworkManager's dhclient). 13.21 waits
# dhcptimeout= seconds (45, NM_DHCP_TIMEOUT, net.h:37) and sends vendor class
# "anaconda-Linux <release> <machine>" or dhcpclass= (net.c:1311-1320). HOSTNAME: DHCP option 12.
dhcp_up() {
	nic=$1; hostname=$2
	timeout=$(cmdline_arg dhcptimeout 2>/dev/null) || timeout=45
	case "$timeout" in ''|*[!0-9]*) timeout=45 ;; esac
	vendor=$(cmdline_arg dhcpclass 2>/dev/null) || vendor="anaconda-$(uname -s) $(uname -r) $(uname -m)"
	tries=$(( (timeout + 2) / 3 )); [ "$tries" -ge 1 ] || tries=1
	rm -f "$NET_STATE/lease-$nic"
	# shellcheck disable=SC2046  # -x hostname:NAME only when there is a name
	NET_STATE=$NET_STATE udhcpc -i "$nic" -f -q -n -t "$tries" -T 3 -V "$vendor" -s "$UDHCPC_SCRIPT" \
		$( [ -n "$hostname" ] && echo "-x hostname:$hostname" ) >>"$LOG" 2>&1
	[ -s "$NET_STATE/lease-$nic" ]
}

# Static configuration of NIC: ADDR MASK GW DNS(comma list).
static_up() {
	nic=$1; addr=$2; mask=$3; gw=$4; dns=$5
	is_ipv4 "$addr" || { NET_FAILED="ip=$addr is not an IPv4 address"; return 1; }
	if [ -n "$mask" ]; then
		bits=$(mask_bits "$mask") || { NET_FAILED="netmask=$mask is not a netmask"; return 1; }
	else
		bits=$(classful_bits "$addr")
		echo "$nic: ip=$addr without netmask=: classful /$bits (NetworkManager's default)" >>"$NET_STATE/notes"
	fi
	ip link set dev "$nic" up 2>>"$LOG"
	ip addr flush dev "$nic" 2>>"$LOG"
	ip addr add "$addr/$bits" dev "$nic" 2>>"$LOG" || { NET_FAILED="cannot set $addr/$bits on $nic"; return 1; }
	if [ -n "$gw" ]; then
		ip route replace default via "$gw" dev "$nic" 2>>"$LOG" || { NET_FAILED="cannot route via $gw"; return 1; }
	fi
	if [ -n "$dns" ]; then
		: >"$RESOLV_CONF"
		for d in $(echo "$dns" | tr ',' ' '); do echo "nameserver $d" >>"$RESOLV_CONF"; done
	fi
	{ echo "ip=$addr"; echo "mask=$bits"; echo "subnet=$(bits_mask "$bits")"; echo "router=$gw"; echo "dns=$(echo "$dns" | tr ',' ' ')"; } >"$NET_STATE/lease-$nic"
	return 0
}

lease_value() {  # lease_value NIC KEY
	sed -n "s/^$2=//p" "$NET_STATE/lease-$1" 2>/dev/null | head -n 1
}

# The loader's ifcfg files (net.c writeDisabledIfcfgFile :1229-1283, at start for every
# interface: loader.c:2274; writeEnabledNetInfo :1289-1560 for the one it brings up). Stage 2
# amends them from the kickstart's network lines and copies them into the new system.
write_disabled_ifcfg() {
	mkdir -p "$NETSCRIPTS"
	for nic in $(network_devices); do
		{
			echo "DEVICE=$nic"
			echo "HWADDR=$(nic_mac_upper "$nic")"
			echo "TYPE=Ethernet"
			echo "UUID=$(cat /proc/sys/kernel/random/uuid 2>/dev/null)"
			echo "ONBOOT=no"
			echo "NM_CONTROLLED=yes"
			echo "BOOTPROTO=dhcp"
		} >"$NETSCRIPTS/ifcfg-$nic"
	done
}

write_enabled_ifcfg() {  # NIC METHOD [ADDR BITS GW DNS HOSTNAME]
	nic=$1; method=$2; addr=$3; bits=$4; gw=$5; dns=$6; host=$7
	uuid=$(sed -n 's/^UUID=//p' "$NETSCRIPTS/ifcfg-$nic" 2>/dev/null)
	[ -n "$uuid" ] || uuid=$(cat /proc/sys/kernel/random/uuid 2>/dev/null)
	mkdir -p "$NETSCRIPTS"
	{
		echo "DEVICE=$nic"
		echo "HWADDR=$(nic_mac_upper "$nic")"
		echo "UUID=$uuid"
		echo "ONBOOT=yes"
		echo "TYPE=Ethernet"
		if [ "$method" = static ]; then
			echo "BOOTPROTO=static"
			echo "IPADDR=$addr"
			echo "NETMASK=$(bits_mask "$bits")"
			[ -n "$gw" ] && echo "GATEWAY=$gw"
		else
			echo "BOOTPROTO=dhcp"
		fi
		i=1
		for d in $(echo "$dns" | tr ',' ' '); do   # iface->dns: dns= or --nameserver, not the DHCP server's
			echo "DNS$i=$d"; i=$((i + 1))
		done
		if [ -n "$host" ]; then
			echo "HOSTNAME=$host"
			[ "$method" = dhcp ] && echo "DHCP_HOSTNAME=$host"
		fi
	} >"$NETSCRIPTS/ifcfg-$nic"
}

# Configure NIC with METHOD (dhcp|static) and the addresses; record it like writeEnabledNetInfo.
configure_nic() {  # NIC METHOD ADDR MASK GW DNS HOSTNAME
	nic=$1; method=$2; addr=$3; mask=$4; gw=$5; dns=$6; host=$7
	NET_FAILED=
	mkdir -p "$NET_STATE"
	if [ "$method" = static ]; then
		static_up "$nic" "$addr" "$mask" "$gw" "$dns" || return 1
		bits=$(lease_value "$nic" mask)
		write_enabled_ifcfg "$nic" static "$addr" "$bits" "$gw" "$dns" "$host"
		say "network: $nic ($(nic_mac "$nic")) up, static $addr/$bits${gw:+, gateway $gw}${dns:+, DNS $dns}"
	else
		if ! dhcp_up "$nic" "$host"; then
			NET_FAILED="no DHCP lease on $nic within $(cmdline_arg dhcptimeout 2>/dev/null || echo 45) s"
			return 1
		fi
		write_enabled_ifcfg "$nic" dhcp "" "" "" "$dns" "$host"
		say "network: $nic ($(nic_mac "$nic")) up by DHCP: $(lease_value "$nic" ip)/$(lease_value "$nic" mask)$(g=$(lease_value "$nic" router); [ -n "$g" ] && echo ", gateway $g")$(d=$(lease_value "$nic" dns); [ -n "$d" ] && echo ", DNS $d")"
	fi
	NET_DEV=$nic; NET_METHOD=$method
	return 0
}

# kickstartNetworkUp / activateDevice (net.c:2253-2263, :2294-2396), for WHAT ("kickstart" or the
# install source): nothing to do once an interface is up; else choose it from ksdevice= (a
# kickstart network line's --device= once read, WANT_DEVICE) and configure it from the boot
# arguments (or the first network line's, KS_NET_*). Status 1 with NET_FAILED set.
loader_network_up() {
	[ -n "$NET_DEV" ] && return 0
	mkdir -p "$NET_STATE"
	want=${WANT_DEVICE-$(cmdline_arg ksdevice 2>/dev/null)}
	nic=$(choose_install_nic "$want"); rc=$?
	flush_net_notes
	case "$want" in
	[bB][oO][oO][tT][iI][fF]) how="ksdevice=$want, BOOTIF=$(cmdline_arg BOOTIF 2>/dev/null || echo '<none>')" ;;
	'') how="no ksdevice=" ;;
	*) how="ksdevice=$want" ;;
	esac
	[ "$rc" -eq 0 ] && say "network: installing through $nic ($how)"
	case "$rc" in
	1) NET_FAILED="no network device (no driver for a network interface; 13.21: \"no network drivers for doing kickstart\")"; return 1 ;;
	2) fail "Networking Device: You have multiple network devices on this system. Which would you like to install through? (${want:+ksdevice=$want matches none of them; }interfaces: $(describe_nics); the EL6 loader asks and waits)" ;;
	esac
	if [ -n "${KS_NET_METHOD:-}" ]; then
		method=$KS_NET_METHOD; addr=$KS_NET_IP; mask=$KS_NET_MASK; gw=$KS_NET_GW; dns=$KS_NET_DNS; host=$KS_NET_HOST
	else
		read_boot_ip_args
		host=$(cmdline_arg hostname 2>/dev/null) || host=
		if [ "$BOOT_IP" = dhcp ]; then method=dhcp; addr=; else method=static; addr=$BOOT_IP; fi
		[ "$BOOT_IP" = ibft ] && { NET_FAILED="ip=ibft: the stand-in has no iBFT"; return 1; }
		mask=$BOOT_MASK; gw=$BOOT_GW; dns=$BOOT_DNS
	fi
	configure_nic "$nic" "$method" "$addr" "$mask" "$gw" "$dns" "$host"
}

flush_net_notes() {
	[ -s "$NET_STATE/notes" ] || return 0
	while IFS= read -r n; do say "note: $n"; done <"$NET_STATE/notes"
	: >"$NET_STATE/notes"
}

# --- HTTP, as the loader's libcurl fetches (loader/urls.c urlinstTransfer) -----------------------

# http_get URL DEST [UA]: follows redirects (10), fails on an HTTP error status (CURLOPT_FAILONERROR),
# sends "User-Agent: anaconda/13.21.215" and the X-Anaconda-* headers of urlinstall.c:55-124
# (X-RHN-Provisioning-MAC-N with kssendmac). Status 1 with HTTP_ERROR set to wget's complaint.
http_get() {
	url=$1; dest=$2; ua=${3:-anaconda/$ANACONDA_VERSION}
	set -- -q -U "$ua" -O "$dest"
	case "$ua" in anaconda/*)
		set -- "$@" --header "X-Anaconda-Architecture: $(uname -m)" --header "X-Anaconda-System-Release: CentOS"
		if cmdline_arg kssendmac >/dev/null 2>&1; then
			i=0
			for nic in $(network_devices); do
				set -- "$@" --header "X-RHN-Provisioning-MAC-$i: $nic $(nic_mac_upper "$nic")"; i=$((i + 1))
			done
		fi ;;
	esac
	rm -f "$dest"
	# busybox wget has no working -T here (it crashes): a hung server is cut off after 300 s,
	# libcurl's default connect timeout.
	HTTP_ERROR=$(timeout 300 wget "$@" "$url" 2>&1 >/dev/null); rc=$?
	echo "GET $url -> $rc ${HTTP_ERROR:-ok}" >>"$LOG"
	[ "$rc" -eq 0 ] && [ -f "$dest" ] && return 0
	rm -f "$dest"
	HTTP_ERROR=$(printf '%s\n' "$HTTP_ERROR" | sed 's/^wget: //' | tail -n 1)
	[ -n "$HTTP_ERROR" ] || HTTP_ERROR="transfer failed (exit $rc)"
	[ "$rc" -eq 143 ] && HTTP_ERROR="no answer within 300 s"
	return 1
}
