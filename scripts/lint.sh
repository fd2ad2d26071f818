#!/usr/bin/env bash
# `make lint`: ruff (kickgen, tests, bench), mypy (the package) and shellcheck (the stand-in's
# shell, scripts/*.sh). Every tool runs even when one finds something; one count line per tool,
# with its time; exit 1 when any found something. LINT_REPORT=FILE also writes the count lines there.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
BIN=${VENV:-.venv}/bin

# The stand-in's scripts run under busybox ash: checked as POSIX sh, whatever their shebang says.
# Its libraries are sourced from paths that exist only inside the initrd (SC1091: not followed).
mapfile -t standin_sh < <(
    find kickgen/standin/data -type f \( -name '*.sh' -o -perm -u+x \) -print0 |
        xargs -0 grep -lE --binary-files=without-match '^#!/bin/(ba)?sh|^# shellcheck shell=' 2>/dev/null
    find kickgen/standin/data -type f -name '*.sh'
)
mapfile -t standin_sh < <(printf '%s\n' "${standin_sh[@]}" | sort -u)
mapfile -t script_sh < <(find scripts -maxdepth 1 -type f -name '*.sh' | sort)

status=0
summary=()
run_tool() {   # name, count pattern, command...
    local name=$1 pattern=$2 start output count rc
    shift 2
    start=$EPOCHREALTIME
    output=$("$@" 2>&1)
    rc=$?
    count=$(grep -cE "$pattern" <<<"$output")
    [[ -n $output ]] && printf '%s\n' "$output"
    if ((rc != 0)); then
        status=1
        ((count == 0)) && count="?"   # failed without a finding line: the tool itself broke
    fi
    summary+=("$(printf 'lint: %-10s %4s findings  (%.1f s)' "$name" "$count" "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')")")
}

run_tool ruff '^[^ ]+:[0-9]+:[0-9]+: ' "$BIN/ruff" check --output-format concise --no-cache kickgen tests bench
run_tool mypy ': error: ' "$BIN/mypy" --cache-dir=/dev/null
run_tool shellcheck '^[^ ]+:[0-9]+:[0-9]+: ' bash -c '
    sc=$1; shift; n=$1; shift
    rc=0
    "$sc" -f gcc -S warning -s sh -e SC1091 "${@:1:n}" || rc=1
    shift "$n"
    "$sc" -f gcc -S warning "$@" || rc=1
    exit $rc' shellcheck "$BIN/shellcheck" "${#standin_sh[@]}" "${standin_sh[@]}" "${script_sh[@]}"

printf '%s\n' "${summary[@]}"
if [[ -n ${LINT_REPORT:-} ]]; then
    printf '%s\n' "${summary[@]}" >"$LINT_REPORT"
fi
exit $status
