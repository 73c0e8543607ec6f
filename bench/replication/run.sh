#!/usr/bin/env bash
# Same-run replication benchmark on loopback (docs/benchmarks.md, "Replication"): node A replicates to node B through
# a push rule over mTLS, against `turbomft push` of the same data from a client to B. One large file (default 1 GiB of
# historian CSV) and many small files (default 10,000 of 4 KiB). Every round runs push then replication for each
# workload; medians over the rounds are reported with the ratio replication / push.
#
#   bench/replication/run.sh [--rounds N] [--size 1GiB] [--small 10000] [--small-size 4KiB] [--work DIR]
#
# Needs: a Release build (dotnet build TurboMft.sln -c Release) and python3. The replication time runs from the rule's
# creation (POST /v1/admin/replication/rules) until A's status counts every job done, polled every 50 ms.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMF=${TMF:-$ROOT/src/Host/bin/Release/net10.0/turbomft}
ROUNDS=3
SIZE=1GiB
SMALL=10000
SMALL_SIZE=4096
WORK_PARENT=/dev/shm
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --small) SMALL=$2; shift 2 ;;
    --small-size) SMALL_SIZE=$2; shift 2 ;;
    --work) WORK_PARENT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

[[ -x $TMF ]] || { echo "build first: dotnet build TurboMft.sln -c Release" >&2; exit 2; }
WORK=$(mktemp -d "$WORK_PARENT/tmf-replication.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

start_node() { # NAME -> sets ${NAME}_PORT ${NAME}_PIN ${NAME}_NODE
  local name=$1
  "$TMF" serve --data "$WORK/$name" --listen 127.0.0.1:0 --site "$name" >"$WORK/$name.log" 2>&1 & PIDS+=("$!")
  for _ in $(seq 100); do grep -q "node certificate" "$WORK/$name.log" 2>/dev/null && break; sleep 0.2; done
  printf -v "${name}_PORT" '%s' "$(sed -n 's/.*serving https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/$name.log")"
  printf -v "${name}_PIN" '%s' "$(sed -n 's/^certificate \(sha256:[0-9a-f]*\).*/\1/p' "$WORK/$name.log")"
  printf -v "${name}_NODE" '%s' "$(sed -n 's/^node certificate \(sha256:[0-9a-f]*\).*/\1/p' "$WORK/$name.log")"
}

echo "work: $WORK  rounds: $ROUNDS  large: $SIZE  small: $SMALL x $SMALL_SIZE bytes"
"$TMF" bench dataset --kind historian --size "$SIZE" "$WORK/large.csv" >/dev/null
BYTES=$(stat -c %s "$WORK/large.csv")
python3 - "$WORK/small" "$SMALL" "$SMALL_SIZE" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    d = os.path.join(root, f"d{i // 1000:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY

start_node a
start_node b
A=https://127.0.0.1:$a_PORT
B=https://127.0.0.1:$b_PORT
A_ADMIN=(--server "$A" --pin "$a_PIN" --token-file "$WORK/a/admin.token")
B_ADMIN=(--server "$B" --pin "$b_PIN" --token-file "$WORK/b/admin.token")
"$TMF" peer add a --fingerprint "$a_NODE" "${B_ADMIN[@]}" >/dev/null
"$TMF" role grant uploader --peer a --area / "${B_ADMIN[@]}" >/dev/null
"$TMF" role grant downloader --peer a --area / "${B_ADMIN[@]}" >/dev/null
"$TMF" peer add b --url "$B" --server-pin "$b_PIN" "${A_ADMIN[@]}" >/dev/null

# Creates a push rule on A for AREA and waits until A reports EXPECTED more jobs done for peer b; prints the seconds.
replicate() {
  python3 - "$A" "$WORK/a/tls/server.crt" "$(cat "$WORK/a/admin.token")" "$1" "$2" <<'PY'
import json, ssl, sys, time, urllib.request
base, ca, token, area, expected = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
context = ssl.create_default_context(cafile=ca)
def call(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context) as response:
        text = response.read()
        return json.loads(text) if text else None
def done():
    peers = call("GET", "/v1/admin/replication/status")["peers"]
    return sum(p["done"] + p["skipped"] for p in peers if p["peer"] == "b"), sum(p["backlog"] for p in peers if p["peer"] == "b")
before, _ = done()
name = "r" + area.strip("/").replace("/", "-")
start = time.monotonic()
call("POST", "/v1/admin/replication/rules", {"name": name, "area": area, "peer": "b"})
while True:
    finished, backlog = done()
    if finished - before >= expected and backlog == 0:
        break
    time.sleep(0.05)
print(f"{time.monotonic() - start:.3f}")
call("DELETE", "/v1/admin/replication/rules/" + name)
PY
}

seconds_of() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); python3 -c "print(f'{$end-$start:.3f}')"; }

RESULTS=$WORK/results.tsv
for round in $(seq "$ROUNDS"); do
  push_large=$(seconds_of "$TMF" push --pin "$b_PIN" --token-file "$WORK/b/admin.token" "$WORK/large.csv" "$B/push$round/")
  "$TMF" push --pin "$a_PIN" --token-file "$WORK/a/admin.token" "$WORK/large.csv" "$A/large$round/" >/dev/null
  repl_large=$(replicate "/large$round" 1)
  push_small=$(seconds_of "$TMF" push --pin "$b_PIN" --token-file "$WORK/b/admin.token" "$WORK/small/" "$B/spush$round/")
  "$TMF" push --pin "$a_PIN" --token-file "$WORK/a/admin.token" "$WORK/small/" "$A/small$round/" >/dev/null
  repl_small=$(replicate "/small$round" "$SMALL")
  printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$push_large" "$repl_large" "$push_small" "$repl_small" | tee -a "$RESULTS"
done

python3 - "$RESULTS" "$BYTES" "$SMALL" <<'PY'
import statistics, sys
rows = [list(map(float, line.split("\t"))) for line in open(sys.argv[1])]
size, count = int(sys.argv[2]), int(sys.argv[3])
med = lambda i: statistics.median(r[i] for r in rows)
pl, rl, ps, rs = med(1), med(2), med(3), med(4)
print(f"\n| workload | turbomft push | replication A→B | ratio |")
print(f"| --- | --- | --- | --- |")
print(f"| {size / 2**30:g} GiB historian CSV | {size / pl / 1e6:.0f} MB/s ({pl:.2f} s) | {size / rl / 1e6:.0f} MB/s ({rl:.2f} s) | {pl / rl:.0%} |")
print(f"| {count} small files | {count / ps:.0f} files/s ({ps:.2f} s) | {count / rs:.0f} files/s ({rs:.2f} s) | {ps / rs:.0%} |")
print(f"\nrounds: {len(rows)}; per round (push large, replication large, push small, replication small, s):")
for r in rows:
    print("  " + "  ".join(f"{v:.2f}" for v in r[1:]))
PY
