#!/usr/bin/env bash
# Same-run "many small files" benchmark on loopback: `turbomft push DIR URL/` against `rsync -a` over ssh and
# `scp -r`, both ssh peers with aes256-gcm@openssh.com. Every tool runs once per round, rounds alternate the tools,
# medians of files per second are reported. Every result is checked: turbomft by `turbomft ls` (count) plus a
# `turbomft pull` of the folder and `diff -r`; rsync and scp by `diff -r`.
#
#   bench/transfer/small-files.sh [--rounds N] [--files 10000] [--size 65536] [--work DIR] [--connections "4 16"]
#                                 [--verify full|sample]
#
# --connections: one turbomft push per value per round (default "4 16": the CLI default and 16 in flight).
# --verify sample: instead of pulling every folder, `ls` count + cmp of 50 files pulled one by one.
# Needs what run.sh needs minus nginx, plus rsync (apt-get install -y rsync openssh-server). Setup (turbomft
# server, throwaway sshd) is the same as run.sh's; everything lives in WORK (default /dev/shm).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMF=${TMF:-$ROOT/src/Host/bin/Release/net10.0/turbomft}
ROUNDS=3
FILES=10000
FSIZE=65536
WORK_PARENT=/dev/shm
CONNS="4 16"
VERIFY=full
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --size) FSIZE=$2; shift 2 ;;
    --work) WORK_PARENT=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --verify) VERIFY=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

[[ -x $TMF ]] || { echo "build first: dotnet build TurboMft.sln -c Release" >&2; exit 2; }
command -v rsync >/dev/null || { echo "install rsync: apt-get install -y rsync" >&2; exit 2; }
WORK=$(mktemp -d "$WORK_PARENT/tmf-small.XXXXXX")
STORE=$WORK/data
RESULTS=$WORK/results.tsv
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14+$15+$16+$17)/hz }' "/proc/$1/stat"; }
cpu_sum() { local t=0; for p in "$@"; do t=$(python3 -c "print($t+$(cpu_of "$p"))"); done; echo "$t"; }

# --- input: FILES files of FSIZE random bytes, in 100 subfolders -------------------------------------------------
SRC=$WORK/src
echo "work: $WORK  rounds: $ROUNDS  files: $FILES x $FSIZE B  turbomft connections: $CONNS  verify: $VERIFY"
python3 - "$SRC" "$FILES" "$FSIZE" <<'PY'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, f"d{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
BYTES=$((FILES * FSIZE))

# --- turbomft server ---------------------------------------------------------------------------------------------
"$TMF" serve --data "$STORE" --listen 127.0.0.1:0 >"$WORK/serve.log" 2>&1 & SERVER=$!; PIDS+=("$SERVER")
for _ in $(seq 50); do grep -q serving "$WORK/serve.log" 2>/dev/null && break; sleep 0.2; done
TMF_PORT=$(sed -n 's/.*serving https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log")
PIN=$(grep -o 'sha256:[0-9a-fA-F]*' "$WORK/serve.log" | head -1 || true)
export TURBOMFT_TOKEN; TURBOMFT_TOKEN=$(cat "$STORE/admin.token")
if [[ -n $PIN ]]; then TRUST=(--pin "$PIN"); else TRUST=(--ca "$STORE/tls/server.crt"); fi
TMF_URL=https://127.0.0.1:$TMF_PORT

# --- sshd on a high port: throwaway host key and client key (as in run.sh) ----------------------------------------
SSH_PORT=$(free_port)
mkdir -p "$WORK/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/client_key"
cp "$WORK/ssh/client_key.pub" "$WORK/ssh/authorized_keys"
cat >"$WORK/ssh/sshd_config" <<CFG
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh/host_key
AuthorizedKeysFile $WORK/ssh/authorized_keys
PasswordAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $WORK/ssh/sshd.pid
Subsystem sftp internal-sftp
CFG
/usr/sbin/sshd -D -f "$WORK/ssh/sshd_config" -E "$WORK/ssh/sshd.log" & SSHD=$!; PIDS+=("$SSHD")
SSH_COMMON=(-i "$WORK/ssh/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -c aes256-gcm@openssh.com)
SCP_OPTS=(-q -P "$SSH_PORT" "${SSH_COMMON[@]}")
RSYNC_SSH="ssh -q -p $SSH_PORT ${SSH_COMMON[*]}"
SSH_USER=$(id -un)
sleep 0.5

# --- one measurement ---------------------------------------------------------------------------------------------
measure() { # measure NAME SERVER_PIDS -- command...
  local name=$1 pids=$2; shift 2
  local before after
  before=$(cpu_sum $pids)
  /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" >"$WORK/last.out" 2>"$WORK/err" || { echo "FAILED $name"; cat "$WORK/err"; exit 1; }
  after=$(cpu_sum $pids)
  read -r wall user sys <"$WORK/time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ROUND" "$wall" "$(python3 -c "print(round($user+$sys,2))")" \
    "$(python3 -c "print(round($after-$before,2))")" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
  printf '  %-26s %7.2f s  %7.0f files/s  %6.0f MB/s\n' "$name" "$wall" "$(python3 -c "print($FILES/$wall)")" "$(python3 -c "print($BYTES/$wall/1e6)")"
}
tree_same() { diff -r "$1" "$2" >/dev/null || { echo "MISMATCH: $2 differs from $1" >&2; exit 1; }; }

verify_tmf() { # verify_tmf REMOTE_FOLDER (no trailing /)
  local remote=$1 count
  count=$("$TMF" ls "$TMF_URL/$remote/" "${TRUST[@]}" | wc -l)
  [[ $count == "$FILES" ]] || { echo "MISMATCH: turbomft ls $remote/ lists $count files, expected $FILES" >&2; exit 1; }
  rm -rf "$WORK/pulled"
  if [[ $VERIFY == full ]]; then
    local t0=$SECONDS
    "$TMF" pull "$TMF_URL/$remote/" "$WORK/pulled" "${TRUST[@]}" >/dev/null
    tree_same "$SRC" "$WORK/pulled"
    echo "    verified: ls count $count, pull + diff -r identical ($((SECONDS - t0)) s)"
  else
    local f
    for f in $(cd "$SRC" && find . -type f | shuf -n 50 --random-source=<(yes)); do
      "$TMF" pull "$TMF_URL/$remote/${f#./}" "$WORK/pulled/x" "${TRUST[@]}" >/dev/null
      cmp -s "$SRC/$f" "$WORK/pulled/x" || { echo "MISMATCH: $remote/$f" >&2; exit 1; }
      rm -f "$WORK/pulled/x"
    done
    echo "    verified: ls count $count, 50 sampled files identical"
  fi
  rm -rf "$WORK/pulled"
}

run_tool() {
  local tool=$1 remote
  case $tool in
    push_c*)
      local c=${tool#push_c}
      remote=bench/small-r$ROUND-c$c
      measure "turbomft push c$c" "$SERVER" "$TMF" push "$SRC" "$TMF_URL/$remote/" "${TRUST[@]}" --connections "$c" --json
      verify_tmf "$remote/src" ;; # push DIR URL/ puts DIR's basename under the folder
    rsync)
      rm -rf "$WORK/rsync.out"
      measure "rsync -a over ssh" "$SSHD" rsync -a -e "$RSYNC_SSH" "$SRC/" "$SSH_USER@127.0.0.1:$WORK/rsync.out/"
      tree_same "$SRC" "$WORK/rsync.out"; rm -rf "$WORK/rsync.out"; echo "    verified: diff -r identical" ;;
    scp)
      rm -rf "$WORK/scp.out"
      measure "scp -r" "$SSHD" scp -r "${SCP_OPTS[@]}" "$SRC" "$SSH_USER@127.0.0.1:$WORK/scp.out"
      tree_same "$SRC" "$WORK/scp.out"; rm -rf "$WORK/scp.out"; echo "    verified: diff -r identical" ;;
  esac
}

TOOLS=(rsync)
for c in $CONNS; do TOOLS+=("push_c$c"); done
TOOLS+=(scp)
printf 'tool\tround\twall_s\tclient_cpu_s\tserver_cpu_s\tload1\n' >"$RESULTS"
LOAD_START=$(cat /proc/loadavg)
for ROUND in $(seq "$ROUNDS"); do
  echo "round $ROUND (load $(cut -d' ' -f1-3 /proc/loadavg))"
  # Alternate the order: odd rounds as listed, even rounds reversed.
  if (( ROUND % 2 )); then order=("${TOOLS[@]}"); else order=(); for ((i=${#TOOLS[@]}-1; i>=0; i--)); do order+=("${TOOLS[$i]}"); done; fi
  for t in "${order[@]}"; do run_tool "$t"; done
done
LOAD_END=$(cat /proc/loadavg)

python3 - "$RESULTS" "$FILES" "$BYTES" "$LOAD_START" "$LOAD_END" <<'PY'
import csv, statistics, sys
path, files, size, ls, le = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = list(csv.DictReader(open(path), delimiter="\t"))
groups = {}
for r in rows:
    groups.setdefault(r["tool"], []).append(r)
med = lambda k, rs: statistics.median(float(r[k]) for r in rs)
ref = files / med("wall_s", groups["rsync -a over ssh"]) if "rsync -a over ssh" in groups else None
print(f"\n{files} files x {size // files} B, {len({r['round'] for r in rows})} rounds, medians; load average {ls.split()[0]}–{le.split()[0]} (1 min, start–end)\n")
print("| tool | files/s (median) | range files/s | MB/s | wall s | client CPU s | server CPU s | ÷ rsync |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for tool, rs in groups.items():
    wall = med("wall_s", rs)
    rates = sorted(files / float(r["wall_s"]) for r in rs)
    fps = files / wall
    print(f"| {tool} | {fps:.0f} | {rates[0]:.0f}–{rates[-1]:.0f} | {size / wall / 1e6:.0f} | {wall:.2f} | {med('client_cpu_s', rs):.2f} | {med('server_cpu_s', rs):.2f} | {fps / ref:.2f} |" if ref else "")
PY
cp "$RESULTS" "${RESULTS_COPY:-/dev/null}" 2>/dev/null || true
