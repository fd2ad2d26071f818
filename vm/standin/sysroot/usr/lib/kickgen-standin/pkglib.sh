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
install_from_catalogue() {
	src="$CATALOGUE/$1"
	mkdir -p "$DB"
	if [ -d "$src/files" ]; then
		(cd "$src/files" && find . ! -type d | sed 's/^\.//') >"$DB/$1.files"
		# A package file replaces a busybox applet link; copying onto the link would overwrite busybox.
		while IFS= read -r f; do [ -L "$f" ] && rm -f "$f"; done <"$DB/$1.files"
		cp -a "$src/files/." /
	else
		: >"$DB/$1.files"
	fi
	cp "$src/meta" "$DB/$1"
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
