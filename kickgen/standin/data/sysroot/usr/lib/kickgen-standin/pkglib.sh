# Package functions shared by the stand-in yum, rpm and curl.
# Catalogue: /usr/share/kickgen-standin/packages/NAME/{meta,files/,post}  (copied from the media)
# Database:  /var/lib/rpm/standin/NAME (meta of the installed package) and NAME.files
# Keyring:   /var/lib/rpm/standin-keys/KEYID (the keys `rpm --import` trusted: gpg-pubkey-KEYID)
CATALOGUE=${STANDIN_CATALOGUE:-/usr/share/kickgen-standin/packages}
DB=/var/lib/rpm/standin
KEYS=/var/lib/rpm/standin-keys

field() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }
cat_has() { [ -f "$CATALOGUE/$1/meta" ]; }
cat_field() { field "$CATALOGUE/$1/meta" "$2"; }
inst_has() { [ -f "$DB/$1" ]; }
inst_field() { field "$DB/$1" "$2"; }
evr_of() { echo "$(field "$1" version)-$(field "$1" release)"; }
cat_evr() { evr_of "$CATALOGUE/$1/meta"; }
inst_evr() { evr_of "$DB/$1"; }
cat_nevra() { echo "$1-$(cat_evr "$1").$(cat_field "$1" arch)"; }
inst_nevra() { echo "$1-$(inst_evr "$1").$(inst_field "$1" arch)"; }
rpm_file_name() { echo "$(cat_nevra "$1").rpm"; }

# rpm-style comparison of two version-release strings: prints -1, 0 or 1.
vercmp() {
	awk -v a="$1" -v b="$2" 'function seg(s, S,    n) { n = 0
			while (s != "") {
				sub(/^[^A-Za-z0-9]+/, "", s); if (s == "") break
				if (match(s, /^[0-9]+/)) { S[++n] = "#" substr(s, 1, RLENGTH) } else { match(s, /^[A-Za-z]+/); S[++n] = substr(s, 1, RLENGTH) }
				s = substr(s, RLENGTH + 1)
			}
			return n }
		BEGIN {
			na = seg(a, A); nb = seg(b, B)
			for (i = 1; i <= na && i <= nb; i++) {
				x = A[i]; y = B[i]
				if (x ~ /^#/ && y ~ /^#/) { x = substr(x, 2) + 0; y = substr(y, 2) + 0; if (x != y) { print (x < y ? -1 : 1); exit } }
				else if (x ~ /^#/) { print 1; exit } else if (y ~ /^#/) { print -1; exit }
				else if (x != y) { print (x < y ? -1 : 1); exit }
			}
			print (na == nb ? 0 : (na < nb ? -1 : 1))
		}'
}

# The package name an .rpm file name or URL stands for (name-version-release.arch.rpm).
name_from_rpm() {
	base=${1##*/}; base=${base%.rpm}; base=${base%.*}   # drop .rpm and .arch
	base=${base%-*}; echo "${base%-*}"                  # drop -release and -version
}

# The package name a yum/rpm argument means: NAME, NAME.ARCH, NAME-VERSION, NAME-VERSION-RELEASE
# or NAME-VERSION-RELEASE.ARCH, matched against the catalogue (or with "installed", the
# database). Prints the argument without its arch when nothing matches.
name_from_arg() {
	arg=$1
	case "$arg" in *.x86_64|*.noarch|*.i686) arg=${arg%.*} ;; esac
	if [ "$2" = installed ]; then dir=$DB; else dir=$CATALOGUE; fi
	if [ -f "$dir/$arg" ] || [ -f "$dir/$arg/meta" ]; then echo "$arg"; return; fi
	for meta in "$dir"/*; do
		[ -d "$meta" ] && meta="$meta/meta"
		case "$meta" in *.files) continue ;; esac
		[ -f "$meta" ] || continue
		n=$(field "$meta" name); v=$(field "$meta" version); r=$(field "$meta" release)
		case "$arg" in "$n-$v"|"$n-$v-$r") echo "$n"; return ;; esac
	done
	echo "$arg"
}

# Install (or update) NAME from the catalogue into /: files, database entry, post script.
# With VERSION RELEASE ARCH REPO (from a repository's metadata) the database records those;
# a NAME the catalogue lacks is then recorded with no files (nothing to stand in with).
install_from_catalogue() {
	src="$CATALOGUE/$1"
	mkdir -p "$DB"
	if [ -n "$2" ] && ! cat_has "$1"; then
		: >"$DB/$1.files"
		printf 'name=%s\nversion=%s\nrelease=%s\narch=%s\nrequires=\nsummary=%s (stand-in: recorded from the repository metadata, no files)\n' \
			"$1" "$2" "$3" "$4" "$1" >"$DB/$1"
		echo "repo=$5" >>"$DB/$1"
		echo "installtime=$(date +%s)" >>"$DB/$1"
		return 0
	fi
	if [ -d "$src/files" ]; then
		(cd "$src/files" && find . ! -type d | sed 's/^\.//') >"$DB/$1.files"
		# A package file replaces a busybox applet link; copying onto the link would overwrite busybox.
		while IFS= read -r f; do [ -L "$f" ] && rm -f "$f"; done <"$DB/$1.files"
		cp -a "$src/files/." /
	else
		: >"$DB/$1.files"
	fi
	cp "$src/meta" "$DB/$1"
	if [ -n "$2" ]; then
		sed -i "s/^version=.*/version=$2/; s/^release=.*/release=$3/; s/^arch=.*/arch=$4/" "$DB/$1"
		echo "repo=$5" >>"$DB/$1"
	fi
	echo "installtime=$(date +%s)" >>"$DB/$1"
	if [ -f "$src/post" ]; then
		STANDIN_PKG_FILES="$DB/$1.files" sh "$src/post" || echo "warning: %post($(inst_nevra "$1")) scriptlet failed, exit status $?" >&2
	fi
	return 0
}

# The bytes of the stand-in RPM file of catalogue package NAME, as the stand-in network serves it
# (curl, rpm -i URL): one line naming it, so its sha256 is fixed and can be pinned.
rpm_file_content() { printf 'kickgen stand-in rpm: %s\n' "$(cat_nevra "$1")"; }

# --- signatures and keys ---------------------------------------------------------------------
# The catalogue says who signed each package (meta signed=KEYID, the short id of the signing
# key; empty: unsigned, as hop5's kernel). A name the catalogue lacks counts as unsigned. A
# stand-in key file is armoured text with a line "Comment: kickgen stand-in key KEYID: USERID".
cat_signer() { cat_field "$1" signed; }
key_id_of() { sed -n 's/^Comment: kickgen stand-in key \([0-9a-f]\{8\}\): .*/\1/p' "$1" 2>/dev/null | head -n 1; }
key_userid_of() { sed -n 's/^Comment: kickgen stand-in key [0-9a-f]\{8\}: //p' "$1" 2>/dev/null | head -n 1; }
key_has() { [ -n "$1" ] && [ -f "$KEYS/$1" ]; }
# rpm --import FILE: trust the key FILE holds (as gpg-pubkey-KEYID-<created>). rpm 4.8's words.
key_import() {
	[ -f "$1" ] || { echo "error: $1: import read failed(2)." >&2; return 1; }
	id=$(key_id_of "$1")
	[ -n "$id" ] || { echo "error: $1: import read failed(-1)." >&2; return 1; }
	mkdir -p "$KEYS"
	printf 'name=gpg-pubkey\nversion=%s\nrelease=%s\narch=(none)\nsummary=gpg(%s)\n' \
		"$id" "$(printf '%08x' "$(date +%s)")" "$(key_userid_of "$1")" >"$KEYS/$id"
}
# gpg-pubkey-KEYID-RELEASE of every trusted key, one a line.
key_list() { for f in "$KEYS"/*; do [ -f "$f" ] && echo "gpg-pubkey-$(field "$f" version)-$(field "$f" release)"; done; }

remove_installed() {
	[ -f "$DB/$1.files" ] && while IFS= read -r f; do rm -f "$f"; done <"$DB/$1.files"
	rm -f "$DB/$1" "$DB/$1.files"
}

# Names NAME requires that are not installed (catalogue "requires=" lists names).
missing_requires() {
	for r in $(cat_field "$1" requires); do inst_has "$r" || echo "$r"; done
}

# --- repositories (the stand-in yum) -------------------------------------------------------
# EL6 yum reads /etc/yum.repos.d/*.repo; the stand-in does too, for what kickgen's kickstarts use:
# [id] sections with baseurl= / mirrorlist= / enabled=, changed by --disablerepo/--enablerepo
# globs in command-line order. A file:// repo offers exactly what its repodata/primary.xml lists
# (name, arch, version); an enabled http/ftp/mirrorlist repo stands for the network, which the
# catalogue answers for. Package CONTENT always comes from the catalogue: RPM payloads are not
# unpacked.
REPOS_DIR=${STANDIN_REPOS_DIR:-/etc/yum.repos.d}

# Print "id<TAB>enabled<TAB>gpgcheck<TAB>gpgkeys<TAB>url" for every section of every .repo file
# (gpgcheck: the section's, else [main]'s in /etc/yum.conf, else 0; gpgkeys: its gpgkey= URLs
# joined by spaces, or "-"; url: the first baseurl, else "mirrorlist:" + the mirrorlist, else
# empty), with $releasever/$basearch expanded.
repo_list() {
	main_gpg=$(main_option gpgcheck 0)
	for f in "$REPOS_DIR"/*.repo; do [ -f "$f" ] && cat "$f" && echo; done | awk -v main_gpg="$main_gpg" '
		function flush() { if (id != "") { if (url == "" && ml != "") url = "mirrorlist:" ml
			print id "\t" en "\t" gpg "\t" (keys == "" ? "-" : keys) "\t" url } }
		function val(s) { sub(/^[^=]*=[ \t]*/, "", s); sub(/[ \t\r]+$/, "", s); return s }
		function truth(s) { s = tolower(val(s)); return (s == "1" || s == "yes" || s == "true" || s == "on") ? 1 : 0 }
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[[^]]+\][ \t\r]*$/ { flush(); id = $0; gsub(/^[ \t]*\[|\][ \t\r]*$/, "", id); en = 1; gpg = main_gpg; keys = ""; url = ""; ml = ""; next }
		/^[ \t]*baseurl[ \t]*=/ { v = val($0); split(v, u, /[ \t,]+/); if (url == "") url = u[1]; next }
		/^[ \t]*mirrorlist[ \t]*=/ { ml = val($0); next }
		/^[ \t]*enabled[ \t]*=/ { en = truth($0); next }
		/^[ \t]*gpgcheck[ \t]*=/ { gpg = truth($0); next }
		/^[ \t]*gpgkey[ \t]*=/ { v = val($0); gsub(/[ \t,]+/, " ", v); keys = v; next }
		END { flush() }' | sed 's/\$releasever/6/g; s/\$basearch/x86_64/g'
}

# A boolean option of /etc/yum.conf's [main] (1 or 0), else $2.
main_option() {
	awk -v k="$1" -v d="$2" '
		/^[ \t]*\[/ { main = ($0 ~ /^[ \t]*\[main\]/); next }
		main && $0 ~ "^[ \t]*" k "[ \t]*=" { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t\r]+$/, "", v); v = tolower(v)
			d = (v == "1" || v == "yes" || v == "true" || v == "on") ? 1 : 0 }
		END { print d }' /etc/yum.conf 2>/dev/null || echo "$2"
}

# Apply yum's --disablerepo=/--enablerepo= (OPS: lines "enable GLOB[,GLOB]" / "disable ...", in
# command-line order) to repo_list; print "id<TAB>url" of the enabled repos, and write their
# "id<TAB>gpgcheck<TAB>gpgkeys" to $REPOWORK/gpg. An --enablerepo pattern that names no repo
# fails as yum 3.2.29's does ("Error getting repository data for X, repository not found").
repos_enabled() {
	repo_list >"$REPOWORK/repos.all"
	set -f   # the globs are for repo ids, not for file names
	for g in $(printf '%s\n' "$1" | sed -n 's/^enable //p' | tr ',' ' '); do
		found=0
		while IFS='	' read -r id en gpg keys url; do
			# shellcheck disable=SC2254
			case "$id" in $g) found=1 ;; esac
		done <"$REPOWORK/repos.all"
		if [ "$found" = 0 ]; then
			echo "Error getting repository data for $g, repository not found" >&2
			return 1
		fi
	done
	set +f
	: >"$REPOWORK/gpg"
	while IFS='	' read -r id en gpg keys url; do
		set -f
		printf '%s\n' "$1" | while read -r op globs; do
			[ -n "$op" ] || continue
			for g in $(echo "$globs" | tr ',' ' '); do
				# shellcheck disable=SC2254
				case "$id" in $g) [ "$op" = enable ] && echo 1 || echo 0 ;; esac
			done
		done >"$REPOWORK/ops.$$"
		set +f
		last=$(tail -n 1 "$REPOWORK/ops.$$"); [ -n "$last" ] && en=$last
		if [ "$en" = 1 ]; then
			printf '%s\t%s\n' "$id" "$url"
			printf '%s\t%s\t%s\n' "$id" "$gpg" "$keys" >>"$REPOWORK/gpg"
		fi
	done <"$REPOWORK/repos.all"
	rm -f "$REPOWORK/ops.$$"
}

repo_gpgcheck() { awk -F'\t' -v r="$1" '$1 == r { print $2; exit }' "$REPOWORK/gpg"; }
repo_gpgkeys() { awk -F'\t' -v r="$1" '$1 == r && $3 != "-" { print $3; exit }' "$REPOWORK/gpg"; }
# The key ids a repo's gpgkey= files hold (file:// keys only: the stand-in has no network).
repo_key_ids() {
	for u in $(repo_gpgkeys "$1"); do
		case "$u" in file://*) key_id_of "${u#file://}" ;; esac
	done
}

# "HREF SHA256" of the primary metadata named by a repomd.xml (SHA256 empty if not sha256).
repomd_primary() {
	awk 'BEGIN { RS = "<" } /^data[ \t]/ { inprim = ($0 ~ /type="primary"/) }
		inprim && /^checksum[ \t]/ && /type="sha256"/ { sum = $0; sub(/^[^>]*>/, "", sum); gsub(/[ \t\r\n]/, "", sum) }
		inprim && /^location[ \t]/ { if (match($0, /href="[^"]*"/)) href = substr($0, RSTART + 6, RLENGTH - 7) }
		inprim && /^\/data>/ { print href, sum; exit }' "$1"
}

# Print "name<TAB>arch<TAB>version<TAB>release<TAB>REPO" for each package of a primary.xml on stdin.
primary_packages() {
	awk -v repo="$1" 'BEGIN { RS = "<"; OFS = "\t" }
		function attr(s, k) { return match(s, k "=\"[^\"]*\"") ? substr(s, RSTART + length(k) + 2, RLENGTH - length(k) - 3) : "" }
		/^package[ \t>]/ { name = arch = ver = rel = ""; inpkg = 1; next }
		inpkg && /^name>/ { name = substr($0, 6); sub(/[ \t\r\n]+$/, "", name); next }
		inpkg && /^arch>/ { arch = substr($0, 6); sub(/[ \t\r\n]+$/, "", arch); next }
		inpkg && /^version[ \t]/ { ver = attr($0, "ver"); rel = attr($0, "rel"); next }
		/^\/package>/ { if (inpkg && name != "" && arch != "src") print name, arch, ver, rel, repo; inpkg = 0 }'
}

# Build $REPOWORK/available ("name arch version release repo" lines) from the enabled repos
# (OPS as for repos_enabled). Fails like yum when a file:// repo has no readable metadata.
load_repos() {
	: >"$REPOWORK/available"; : >"$REPOWORK/enabled"
	repos_enabled "$1" >"$REPOWORK/enabled" || return 1
	network=
	while IFS='	' read -r id url; do
		case "$url" in
		file://*)
			dir=${url#file://}; dir=${dir%/}
			if [ ! -f "$dir/repodata/repomd.xml" ]; then
				echo "$url/repodata/repomd.xml: [Errno 14] Could not open/read $url/repodata/repomd.xml" >&2
				echo "Trying other mirror." >&2
				echo "Error: Cannot retrieve repository metadata (repomd.xml) for repository: $id. Please verify its path and try again" >&2
				return 1
			fi
			# shellcheck disable=SC2046  # split into href and checksum on purpose
			set -- $(repomd_primary "$dir/repodata/repomd.xml")
			href=$1
			if [ -z "$href" ] || [ ! -f "$dir/$href" ]; then
				echo "Error: Cannot retrieve repository metadata (primary) for repository: $id. Please verify its path and try again" >&2
				return 1
			fi
			# yum checks every metadata file against repomd.xml: stale metadata is refused
			if [ -n "$2" ] && [ "$(sha256sum "$dir/$href" | cut -d' ' -f1)" != "$2" ]; then
				echo "$url/$href: [Errno -1] Metadata file does not match checksum" >&2
				echo "Trying other mirror." >&2
				echo "Error: failure: $href from $id: [Errno 256] No more mirrors to try." >&2
				return 1
			fi
			case "$href" in
			*.gz) zcat "$dir/$href" ;; *.bz2) bzcat "$dir/$href" ;; *.xz) xzcat "$dir/$href" ;; *) cat "$dir/$href" ;;
			esac | primary_packages "$id" >>"$REPOWORK/available" || return 1 ;;
		*) network="$network $id" ;;
		esac
	done <"$REPOWORK/enabled"
	if [ -n "$network" ]; then  # the catalogue stands in for every network repository
		# Each package is offered once, by the network repo that would carry it: the first whose
		# gpgkey holds its signer's key (CentOS trees carry CentOS-signed packages, EPEL's EPEL's),
		# else the first without a gpgkey, else the first one.
		: >"$REPOWORK/netkeys"
		for id in $network; do
			for k in $(repo_key_ids "$id"); do printf '%s\t%s\n' "$id" "$k" >>"$REPOWORK/netkeys"; done
			[ -n "$(repo_gpgkeys "$id")" ] || printf '%s\t-\n' "$id" >>"$REPOWORK/netkeys"
		done
		first=${network# }; first=${first%% *}
		for meta in "$CATALOGUE"/*/meta; do
			[ -f "$meta" ] || continue
			signer=$(field "$meta" signed)
			repo=$(awk -F'\t' -v k="${signer:-none}" '$2 == k && !a { a = $1 } $2 == "-" && !b { b = $1 }
				END { print (a != "" ? a : b) }' "$REPOWORK/netkeys")
			printf '%s\t%s\t%s\t%s\t%s\n' "$(field "$meta" name)" "$(field "$meta" arch)" \
				"$(field "$meta" version)" "$(field "$meta" release)" "${repo:-$first}" >>"$REPOWORK/available"
		done
	fi
	return 0
}

# yum's signature check of the transaction ($REPOWORK/queue), before anything is installed, as
# yum 3.2.29 does it (yum/__init__.py sigCheckPkg, getKeyForPackage; cli.py gpgsigcheck): a
# package from a repo with gpgcheck=1 (a local .rpm: with localpkg_gpgcheck=1) must be signed
# with a key rpm trusts; a missing key is imported from the repo's gpgkey= with -y. Fails (exit
# 1) with yum's words. check_signatures ASSUME_YES NOGPG: 1 1 = -y, --nogpgcheck (no check).
check_signatures() {
	assume_yes=$1
	[ "$2" = 1 ] && return 0
	localgpg=$(main_option localpkg_gpgcheck 0)
	while IFS='	' read -r n a v r repo <&4; do
		file="$n-$v-$r.$a.rpm"
		case "$repo" in
		/*) [ "$localgpg" = 1 ] || continue; file=${repo#/} ;;
		*) [ "$(repo_gpgcheck "$repo")" = 1 ] || continue ;;
		esac
		signer=$(cat_signer "$n")
		if [ -z "$signer" ]; then printf '\n\nPackage %s is not signed\n' "$file" >&2; return 1; fi
		key_has "$signer" && continue
		echo "warning: rpmts_HdrFromFdno: Header V3 RSA/SHA256 Signature, key ID $signer: NOKEY"
		urls=
		case "$repo" in /*) ;; *) urls=$(repo_gpgkeys "$repo") ;; esac
		if [ -z "$urls" ]; then printf '\n\nPublic key for %s is not installed\n' "$file" >&2; return 1; fi
		if [ "$assume_yes" != 1 ]; then
			printf '\n\nRefusing to automatically import keys when running unattended.\nUse "-y" to override.\n' >&2
			return 1
		fi
		imported=0
		for u in $urls; do
			echo "Retrieving key from $u"
			case "$u" in
			file://*) kf=${u#file://} ;;
			*) printf '\n\nGPG key retrieval failed: [Errno 14] Could not open/read %s\n' "$u" >&2; return 1 ;;
			esac
			[ -f "$kf" ] || { printf '\n\nGPG key retrieval failed: [Errno 14] Could not open/read %s\n' "$u" >&2; return 1; }
			id=$(key_id_of "$kf")
			[ -n "$id" ] || { printf '\n\nInvalid GPG Key from %s: No key found in given key data\n' "$u" >&2; return 1; }
			if key_has "$id"; then echo "GPG key at $u (0x$(echo "$id" | tr a-f A-F)) is already installed"; continue; fi
			printf 'Importing GPG key 0x%s:\n Userid : %s\n Package: %s (%s)\n From   : %s\n' \
				"$(echo "$id" | tr a-f A-F)" "$(key_userid_of "$kf")" "$n-$v-$r.$a" "$repo" "$kf"
			key_import "$kf" || return 1
			imported=1
		done
		if [ "$imported" = 0 ]; then
			printf '\n\nThe GPG keys listed for the "%s" repository are already installed but they are not correct for this package.\nCheck that the correct key URLs are configured for this repository.\n' "$repo" >&2
			return 1
		fi
		if ! key_has "$signer"; then
			echo "Import of key(s) didn't help, wrong key(s)?"
			printf '\n\nPublic key for %s is not installed\n' "$file" >&2
			return 1
		fi
	done 4<"$REPOWORK/queue"
	return 0
}

# The best available package an install argument means (NAME, NAME.ARCH, NAME-VER[-REL][.ARCH]):
# prints "name arch version release repo" of the newest match, or nothing.
avail_match() {
	awk -v arg="$1" 'BEGIN { FS = OFS = "\t" }
		function seg(s, S,    n) { n = 0
			while (s != "") { sub(/^[^A-Za-z0-9]+/, "", s); if (s == "") break
				if (match(s, /^[0-9]+/)) S[++n] = "#" substr(s, 1, RLENGTH); else { match(s, /^[A-Za-z]+/); S[++n] = substr(s, 1, RLENGTH) }
				s = substr(s, RLENGTH + 1) }
			return n }
		function cmp(a, b,    A, B, na, nb, i, x, y) { na = seg(a, A); nb = seg(b, B)
			for (i = 1; i <= na && i <= nb; i++) { x = A[i]; y = B[i]
				if (x ~ /^#/ && y ~ /^#/) { x = substr(x, 2) + 0; y = substr(y, 2) + 0; if (x != y) return x < y ? -1 : 1 }
				else if (x ~ /^#/) return 1; else if (y ~ /^#/) return -1; else if (x != y) return x < y ? -1 : 1 }
			return na == nb ? 0 : (na < nb ? -1 : 1) }
		{ n = $1; a = $2; v = $3; r = $4
		  if (arg != n && arg != n "." a && arg != n "-" v && arg != n "-" v "-" r && arg != n "-" v "-" r "." a) next
		  evr = v "-" r
		  if (best == "" || cmp(evr, bestevr) > 0) { best = $0; bestevr = evr } }
		END { if (best != "") print best }' "$REPOWORK/available"
}
