#!/usr/bin/env bash
# Side-by-side comparison of turbomft with its peers (scp, sftp, rsync over ssh, rclone's sftp backend, curl → nginx
# over TLS 1.3), same machine, same run, tools alternating round by round; every result compared with its source.
#
#   bench/compare/run.sh [--scenarios S1,S2,S3,S4,S5,S6] [--rounds 3] [--size 1GiB] [--files 10000] [--file-size 64KiB]
#                        [--big-files 1000] [--link-rate 1gbit] [--work /dev/shm] [--out DIR] [--no-install] [--smoke]
#
# S1 loopback 1 GiB incompressible (with the bare TLS sink as the ceiling); S2 historian CSV across a token-bucket
# limited veth link between two network namespaces; S3 many small files (and 1 MiB files); S4 killed at half and run
# again; S5 download; S6 download of S3's trees. Writes results.tsv and meta.tsv (raw), then results.md and chart.png
# (bench/TurboMft.Compare) into bench/results/<UTC date-time>/ or --out. How to read them: bench/README.md, "Peer comparison".
# TMF_BASELINE=PATH (the turbomft of another build) adds that build, client and server, to S1, S3 and S5: before and
# after a change in the same run.
# Exit 0 when every transfer succeeded and matched its source, 3 when one did not (the report lists it), 2 on a setup
# error. Needs a Release build (dotnet build TurboMft.sln -c Release); root for S2/S4 (network namespaces) and for
# installing missing peers with apt-get.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/compare
TMF=${TMF:-$ROOT/src/Host/bin/Release/net10.0/turbomft}
REPORT=${COMPARE_REPORT:-$ROOT/bench/TurboMft.Compare/bin/Release/net10.0/TurboMft.Compare}

SCENARIOS=S1,S2,S3,S4,S5,S6
ROUNDS=3
SIZE=1GiB
FILES=10000
FILE_SIZE=64KiB
BIG_FILES=1000
LINK_RATE=1gbit
LINK_BURST=512kb
WORK_PARENT=/dev/shm
OUT=
INSTALL=1
SMOKE=0
TRANSFER_TIMEOUT=900
SETTLE_SECONDS=1
CHUNK_SIZE=4194304
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --file-size) FILE_SIZE=$2; shift 2 ;;
    --big-files) BIG_FILES=$2; shift 2 ;;
    --link-rate) LINK_RATE=$2; shift 2 ;;
    --work) WORK_PARENT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --smoke) SMOKE=1; ROUNDS=1; SIZE=8MiB; FILES=100; BIG_FILES=8; LINK_RATE=100mbit; LINK_BURST=64kb; TRANSFER_TIMEOUT=60; SETTLE_SECONDS=0.5; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

source "$HERE/lib/measure.sh"
source "$HERE/lib/sites.sh"
source "$HERE/lib/scenarios.sh"

[[ -x $TMF ]] || die "no turbomft at $TMF: build first (dotnet build TurboMft.sln -c Release) or set TMF"
to_bytes() { # 64KiB, 1MiB, 1GiB, or plain bytes
  local v=$1 n unit
  n=${v%%[!0-9]*} unit=${v#"$n"}
  case ${unit,,} in
    "" | b) echo "$n" ;; kib | k) echo $((n << 10)) ;; mib | m) echo $((n << 20)) ;; gib | g) echo $((n << 30)) ;;
    *) die "cannot read the size '$v' (write e.g. 64KiB, 1MiB, 1GiB)" ;;
  esac
}
FILE_SIZE_BYTES=$(to_bytes "$FILE_SIZE")

WORK=$(mktemp -d "$WORK_PARENT/tmf-compare.XXXXXX") || die "cannot create a work directory under $WORK_PARENT"
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
OUT=${OUT:-$ROOT/bench/results/$STAMP}
mkdir -p "$OUT" || die "cannot create $OUT"
RESULTS=$OUT/results.tsv
META=$OUT/meta.tsv
DATA=$WORK/data
FAILURES=0
cleanup() {
  stop_all
  link_down
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

meta() { printf '%s\t%s\n' "$1" "${2//$'\t'/ }" >>"$META"; }
: >"$META"
printf '%s\n' "$RESULT_COLUMNS" >"$RESULTS"
meta started "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta cpu "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
meta cores "$(nproc)"
meta memory "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
meta kernel "$(uname -r)"
meta os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
meta commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (modified)')"
meta work "$WORK_PARENT ($(df -T "$WORK_PARENT" | awk 'NR == 2 { print $2 }'))"
meta scenarios "$SCENARIOS"
meta rounds "$ROUNDS"
meta size "$SIZE"
meta small_files "$FILES x $FILE_SIZE; $BIG_FILES x 1MiB"
meta link_rate "$LINK_RATE"
meta smoke "$SMOKE"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"

say "compare: work $WORK, results $OUT"
ensure_peers
for p in ssh rsync rclone nginx; do meta "peer_$p" "$(has_peer "$p" && echo yes || echo "skipped: ${PEER_SKIP[$p]}")"; done
while IFS=$'\t' read -r k v; do meta "version_$k" "$v"; done < <(peer_versions)
: >"$WORK/rclone.conf"

# --- datasets (turbomft bench dataset: DatasetGenerator, seed 1) ----------------------------------------------------------
mkdir -p "$DATA"
want() { [[ ,$SCENARIOS, == *,$1,* ]]; }
if want S1 || want S4 || want S5; then
  "$TMF" bench dataset --kind random --size "$SIZE" "$DATA/random.bin" >/dev/null || die "dataset random failed"
fi
want S2 && { "$TMF" bench dataset --kind historian --size "$SIZE" "$DATA/historian.csv" >/dev/null || die "dataset historian failed"; }
make_tree() { # make_tree NAME COUNT SIZE: COUNT files of SIZE random bytes, 100 per folder, cut from one generated file
  local dir=$DATA/$1 count=$2 size=$3 f
  mkdir -p "$dir/flat" "$dir/src"
  "$TMF" bench dataset --kind random --size $((count * size)) "$dir/all.bin" >/dev/null || die "dataset $1 failed"
  (cd "$dir/flat" && split -b "$size" -a 6 -d "$dir/all.bin" f) || die "split failed"
  rm -f "$dir/all.bin"
  for ((f = 0; f * 100 < count; f++)); do
    mkdir -p "$dir/src/d$(printf %04d "$f")"
    mv "$dir/flat/f$(printf %04d "$f")"?? "$dir/src/d$(printf %04d "$f")/"
  done
  rmdir "$dir/flat"
}
if want S3 || want S6; then
  make_tree files-64k "$FILES" "$FILE_SIZE_BYTES"
  make_tree files-1m "$BIG_FILES" 1048576
fi

meta seconds_setup "$SECONDS"

# --- run ------------------------------------------------------------------------------------------------------------------
for s in ${SCENARIOS//,/ }; do
  case $s in
    S1|S3|S5|S6) ;;
    S2|S4)
      if ! link_up; then
        say "compare: skipping $s: $LINK_ERROR"
        meta "skipped_$s" "$LINK_ERROR"
        continue
      fi ;;
    *) die "unknown scenario $s (S1..S6)" ;;
  esac
  say "compare: $s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  meta "load_${s}_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
  started=$SECONDS
  "scenario_${s,,}"
  meta "load_${s}_end" "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta "seconds_$s" "$((SECONDS - started))"
done
meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta failures "$FAILURES"
stop_all
link_down

# --- report -----------------------------------------------------------------------------------------------------------------
if [[ ! -x $REPORT ]]; then
  say "compare: building the report tool"
  dotnet build "$ROOT/bench/TurboMft.Compare" -c Release >/dev/null || die "could not build bench/TurboMft.Compare"
fi
"$REPORT" "$OUT" || die "the report failed"
say "compare: $OUT/results.md"
(( FAILURES == 0 )) || { say "compare: $FAILURES transfer(s) failed or did not match their source; see results.md"; exit 3; }
exit 0
