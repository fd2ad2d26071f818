# Package functions shared by the stand-in yum and rpm.
# Catalogue: /usr/share/kickgen-standin/packages/NAME/{meta,files/,post}  (copied from the media)
# Database:  /var/lib/rpm/standin/NAME (meta of the installed package) and NAME.files
CATALOGUE=${STANDIN_CATALOGUE:-/usr/share/kickgen-standin/packages}
DB=/var/lib/rpm/standin

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

# Print "id<TAB>enabled<TAB>url" for every section of every .repo file (url: the first baseurl,
# else "mirrorlist:" + the mirrorlist, else empty), with $releasever/$basearch expanded.
repo_list() {
	for f in "$REPOS_DIR"/*.repo; do [ -f "$f" ] && cat "$f" && echo; done | awk '
		function flush() { if (id != "") { if (url == "" && ml != "") url = "mirrorlist:" ml; print id "\t" en "\t" url } }
		function val(s) { sub(/^[^=]*=[ \t]*/, "", s); sub(/[ \t\r]+$/, "", s); return s }
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[[^]]+\][ \t\r]*$/ { flush(); id = $0; gsub(/^[ \t]*\[|\][ \t\r]*$/, "", id); en = 1; url = ""; ml = ""; inurl = 0; next }
		/^[ \t]*baseurl[ \t]*=/ { v = val($0); split(v, u, /[ \t,]+/); if (url == "") url = u[1]; next }
		/^[ \t]*mirrorlist[ \t]*=/ { ml = val($0); next }
		/^[ \t]*enabled[ \t]*=/ { v = tolower(val($0)); en = (v == "1" || v == "yes" || v == "true") ? 1 : 0; next }
		END { flush() }' | sed 's/\$releasever/6/g; s/\$basearch/x86_64/g'
}

# Apply yum's --disablerepo=/--enablerepo= (OPS: lines "enable GLOB[,GLOB]" / "disable ...", in
# command-line order) to repo_list; print "id<TAB>url" of the enabled repos.
repos_enabled() {
	repo_list | while IFS='	' read -r id en url; do
		set -f   # the globs are for repo ids, not for file names
		printf '%s\n' "$1" | while read -r op globs; do
			[ -n "$op" ] || continue
			for g in $(echo "$globs" | tr ',' ' '); do
				# shellcheck disable=SC2254
				case "$id" in $g) [ "$op" = enable ] && echo 1 || echo 0 ;; esac
			done
		done >"$REPOWORK/ops.$$"
		last=$(tail -n 1 "$REPOWORK/ops.$$"); [ -n "$last" ] && en=$last
		[ "$en" = 1 ] && printf '%s\t%s\n' "$id" "$url"
	done
	rm -f "$REPOWORK/ops.$$"
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
	repos_enabled "$1" >"$REPOWORK/enabled"
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
		for meta in "$CATALOGUE"/*/meta; do
			[ -f "$meta" ] || continue
			printf '%s\t%s\t%s\t%s\t%s\n' "$(field "$meta" name)" "$(field "$meta" arch)" \
				"$(field "$meta" version)" "$(field "$meta" release)" standin >>"$REPOWORK/available"
		done
	fi
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
