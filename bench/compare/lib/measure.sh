# shellcheck shell=bash
# One measured transfer: wall time, CPU of both ends, peak RSS of both ends, bytes on the client's link, and the raw
# row in results.tsv. Sourced by bench/compare/run.sh.

CLK_TCK=$(getconf CLK_TCK)
RESULT_COLUMNS='scenario	dataset	key	label	role	round	phase	bytes	files	wall_s	client_cpu_s	server_cpu_s	client_rss_kib	server_rss_kib	wire_bytes	ok	extra	note	load1'

say() { printf '%s\n' "$*" >&2; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN { if (b == 0) print "0"; else printf f "\n", a / b }'; }

# utime+stime+cutime+cstime in ticks: a listener's reaped children (sshd's sessions) count once they exit.
cpu_ticks() {
  local total=0 p line rest
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    read -r line <"/proc/$p/stat" || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "$total"
}

# All descendants of the given pids (not the pids themselves), into the global array TREE.
TREE=()
collect_descendants() {
  local p t kids c
  for p in "$@"; do
    for t in /proc/"$p"/task/*/children; do
      [[ -r $t ]] || continue
      read -r -a kids <"$t" 2>/dev/null || true
      for c in "${kids[@]}"; do
        TREE+=("$c")
        collect_descendants "$c"
      done
    done
  done
}

HWM=
read_hwm() { # VmHWM of one process in KiB into HWM (empty when it is gone); no subshell: the sampler runs it often
  local key value _
  HWM=
  while read -r key value _; do
    [[ $key == VmHWM: ]] && { HWM=$value; return; }
  done 2>/dev/null <"/proc/$1/status"
  return 0
}

# Resets the peak RSS of the long-lived server processes so VmHWM covers this transfer only.
reset_peaks() {
  local p
  TREE=()
  collect_descendants "$@"
  for p in "$@" "${TREE[@]}"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
}

# Samples every 100 ms until STOP_FILE exists. Each sample sums the VmHWM (own peak so far) of the live processes of
# one side: the server roots and their descendants (sshd's per-connection processes, nginx's workers), and the client's
# process tree below CLIENT_ROOT. The peak of each side is the largest such sum. Writes "SERVER_KIB CLIENT_KIB" to OUT_FILE.
rss_sampler() {
  local stop=$1 out=$2 client_root=$3; shift 3
  local p sum server=0 client=0
  while :; do
    TREE=(); collect_descendants "$@"
    sum=0; for p in "$@" "${TREE[@]}"; do read_hwm "$p"; sum=$((sum + ${HWM:-0})); done
    (( sum > server )) && server=$sum
    TREE=(); collect_descendants "$client_root"
    sum=0; for p in "${TREE[@]}"; do read_hwm "$p"; sum=$((sum + ${HWM:-0})); done
    (( sum > client )) && client=$sum
    [[ -e $stop ]] && break
    sleep 0.1
  done
  echo "$server $client" >"$out"
}

# Bytes the client's side of the link has sent, when the client runs in a namespace (S2, S4); empty on loopback.
wire_tx() {
  [[ -n ${CLIENT_NS:-} ]] || return 0
  ip netns exec "$CLIENT_NS" cat "/sys/class/net/$CLIENT_IF/statistics/tx_bytes"
}

# Waits until the server has no transient child processes left (sshd reaps a session after the client is gone), so
# its CPU time is complete; bounded at 5 s.
settle_children() {
  local root=$1 i
  [[ -n $root ]] || return 0
  for i in $(seq 50); do
    TREE=(); collect_descendants "$root"
    (( ${#TREE[@]} == 0 )) && return 0
    sleep 0.1
  done
}

# run_measured COMMAND...: runs one transfer in the client's namespace (if any) under /usr/bin/time, with
# SERVER_PIDS (space-separated) as the server end and SETTLE_PID (sshd) as the listener whose sessions must end.
# Sets M_RC M_WALL M_CLIENT_CPU M_SERVER_CPU M_CLIENT_RSS M_SERVER_RSS M_WIRE, and M_ERR (first stderr line).
# With ASYNC=1 it only starts the command (M_PID) and finish_measured completes the measurement.
run_measured() {
  local -a prefix=()
  [[ -n ${CLIENT_NS:-} ]] && prefix=(ip netns exec "$CLIENT_NS")
  # shellcheck disable=SC2086
  M_CPU0=$(cpu_ticks $SERVER_PIDS)
  # shellcheck disable=SC2086
  reset_peaks $SERVER_PIDS
  M_TX0=$(wire_tx)
  rm -f "$WORK/m.stop" "$WORK/m.rss" "$WORK/m.time"
  M_T0=$(date +%s.%N)
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/m.time" "${prefix[@]}" timeout -s KILL "$TRANSFER_TIMEOUT" "$@" \
    >"$WORK/m.out" 2>"$WORK/m.err" </dev/null &
  M_PID=$!
  # shellcheck disable=SC2086
  rss_sampler "$WORK/m.stop" "$WORK/m.rss" "$M_PID" $SERVER_PIDS &
  M_SAMPLER=$!
  [[ ${ASYNC:-0} == 1 ]] && return 0
  finish_measured
}

finish_measured() {
  M_RC=0
  wait "$M_PID" || M_RC=$?
  local t1; t1=$(date +%s.%N)
  settle_children "${SETTLE_PID:-}"
  touch "$WORK/m.stop"
  wait "$M_SAMPLER" 2>/dev/null || true
  # shellcheck disable=SC2086
  local cpu1; cpu1=$(cpu_ticks $SERVER_PIDS)
  local tx1; tx1=$(wire_tx)
  local wall user sys maxrss server_rss client_rss
  if [[ -s $WORK/m.time ]] && read -r wall user sys maxrss < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$WORK/m.time" | tail -1) && [[ -n ${wall:-} ]]; then
    :
  else # killed by a signal: time prints "Command terminated by signal 9" first; fall back to our own clock
    wall=$(awk -v a="$M_T0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'); user=0; sys=0; maxrss=0
  fi
  read -r server_rss client_rss <"$WORK/m.rss" 2>/dev/null || { server_rss=; client_rss=; }
  (( ${client_rss:-0} < maxrss )) && client_rss=$maxrss
  M_WALL=$wall
  M_CLIENT_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  M_SERVER_CPU=$(awk -v a="$M_CPU0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
  M_CLIENT_RSS=${client_rss:-}
  M_SERVER_RSS=${server_rss:-}
  M_WIRE=
  [[ -n $M_TX0 && -n $tx1 ]] && M_WIRE=$((tx1 - M_TX0))
  M_ERR=$(grep -v '^\s*$' "$WORK/m.err" | head -1 | tr '\t' ' ' | cut -c1-200)
  return 0
}

# record SCENARIO DATASET KEY LABEL ROLE PHASE BYTES FILES OK [EXTRA] [NOTE]: appends the last measurement.
record() {
  local scenario=$1 dataset=$2 key=$3 label=$4 role=$5 phase=$6 bytes=$7 files=$8 ok=$9 extra=${10:-} note=${11:-}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$scenario" "$dataset" "$key" "$label" "$role" "$ROUND" "$phase" "$bytes" "$files" "$M_WALL" "$M_CLIENT_CPU" \
    "$M_SERVER_CPU" "$M_CLIENT_RSS" "$M_SERVER_RSS" "$M_WIRE" "$ok" "$extra" "${note//$'\t'/ }" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
  local rate
  if (( files > 1 )); then rate="$(fdiv "$files" "$M_WALL" %.0f) files/s"; else rate="$(fdiv "$bytes" "$(fdiv "$M_WALL" 0.000001 %.0f)" %.0f) MB/s"; fi
  local verdict=ok; [[ $ok == 1 ]] || verdict="FAILED: $note"
  say "$(printf '  %-4s %-34s %-9s %7.2f s  %16s  cpu %5.2f+%5.2f s  %s' "$scenario" "$label" "$phase" "$M_WALL" "$rate" "$M_CLIENT_CPU" "$M_SERVER_CPU" "$verdict")"
}

# The verdict of a measurement plus its check: OK=1 when the command exited 0 and CHECK... succeeds.
# Sets OK and NOTE.
judge() {
  OK=1 NOTE=
  if [[ $M_RC != 0 ]]; then
    OK=0 NOTE="exit $M_RC${M_ERR:+: $M_ERR}"
    FAILURES=$((FAILURES + 1))
    return 0
  fi
  if ! "$@" 2>"$WORK/check.err"; then
    OK=0 NOTE="result differs from the source ($(head -1 "$WORK/check.err" | cut -c1-160))"
    FAILURES=$((FAILURES + 1))
  fi
}
