#!/usr/bin/env bash
# Same-run transfer benchmark on loopback: turbomft push/pull against curl (one-shot PUT), scp (aes256-gcm),
# curl PUT to nginx over TLS 1.3, and a bare Kestrel TLS 1.3 sink (the ceiling). Every tool runs once per round,
# rounds alternate the tools, medians are reported. Every result is compared with its source (cmp).
#
#   bench/transfer/run.sh [--rounds N] [--size 1GiB] [--work DIR] [--store DIR] [--quick]
#
# Needs: a Release build (dotnet build TurboMft.sln -c Release), curl, openssl, python3, /usr/bin/time,
# openssh-server and nginx (apt-get install -y openssh-server nginx). Runs as root or as a user that may start
# sshd/nginx on high ports. Inputs and peers' outputs go to WORK (default /dev/shm, so the CPU is measured, not the
# disk); the turbomft server's data directory goes to STORE (default: inside WORK; pass a disk path to include it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMF=${TMF:-$ROOT/src/Host/bin/Release/net10.0/turbomft}
ROUNDS=3
SIZE=1GiB
WORK_PARENT=/dev/shm
STORE=
QUICK=0
EXTRA_PUSH=${EXTRA_PUSH:-}
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --work) WORK_PARENT=$2; shift 2 ;;
    --store) STORE=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

[[ -x $TMF ]] || { echo "build first: dotnet build TurboMft.sln -c Release" >&2; exit 2; }
WORK=$(mktemp -d "$WORK_PARENT/tmf-transfer.XXXXXX")
STORE=${STORE:-$WORK/data}
RESULTS=$WORK/results.tsv
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK" "$STORE"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# utime+stime+cutime+cstime of a process in seconds (children reaped by it included: sshd's sessions).
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14+$15+$16+$17)/hz }' "/proc/$1/stat"; }
cpu_sum() { local t=0; for p in "$@"; do t=$(python3 -c "print($t+$(cpu_of "$p"))"); done; echo "$t"; }

echo "work: $WORK  store: $STORE  rounds: $ROUNDS  size: $SIZE"
"$TMF" bench dataset --kind random --size "$SIZE" "$WORK/random.bin" >/dev/null
"$TMF" bench dataset --kind historian --size "$SIZE" "$WORK/historian.csv" >/dev/null
BYTES=$(stat -c %s "$WORK/random.bin")

# --- turbomft server and the sink, on the same certificate -------------------------------------------------------
"$TMF" serve --data "$STORE" --listen 127.0.0.1:0 >"$WORK/serve.log" 2>&1 & SERVER=$!; PIDS+=("$SERVER")
for _ in $(seq 50); do grep -q serving "$WORK/serve.log" 2>/dev/null && break; sleep 0.2; done
TMF_PORT=$(sed -n 's/.*serving https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log")
CERT=$STORE/tls/server.crt
TOKEN_FILE=$STORE/admin.token
TOKEN=$(cat "$TOKEN_FILE")
"$TMF" bench sink --data "$STORE" --listen 127.0.0.1:0 >"$WORK/sink.log" 2>&1 & SINK=$!; PIDS+=("$SINK")
for _ in $(seq 50); do grep -q listening "$WORK/sink.log" 2>/dev/null && break; sleep 0.2; done
SINK_PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/sink.log")

# --- sshd on a high port: throwaway host key and client key -------------------------------------------------------
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
SSH_OPTS=(-q -P "$SSH_PORT" -i "$WORK/ssh/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -c aes256-gcm@openssh.com)
SSH_USER=$(id -un)

# --- nginx on a high port: TLS 1.3 only, PUT into WORK/nginx ------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/root/up" "$WORK/nginx/tmp" "$WORK/nginx/logs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/nginx/key.pem" -out "$WORK/nginx/cert.pem" 2>/dev/null
cat >"$WORK/nginx/nginx.conf" <<CFG
user $(id -un);
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp; uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $WORK/nginx/cert.pem;
    ssl_certificate_key $WORK/nginx/key.pem;
    ssl_protocols TLSv1.3;
    client_max_body_size 0;
    location /up/ { root $WORK/nginx/root; dav_methods PUT; create_full_put_path on; }
  }
}
CFG
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' & NGINX=$!; PIDS+=("$NGINX")
sleep 1
nginx_pids() { echo "$NGINX" $(pgrep -P "$NGINX"); }

# --- one measurement ---------------------------------------------------------------------------------------------
# run NAME FILE SERVER_PIDS -- command...; then CHECK (a command that must succeed: the result equals the source).
LAST_OUT=$WORK/last.out
measure() {
  local name=$1 file=$2 pids=$3; shift 3
  local before after rss=
  before=$(cpu_sum $pids)
  [[ $pids == "$SERVER" ]] && echo 5 >"/proc/$SERVER/clear_refs" 2>/dev/null || true
  /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" >"$LAST_OUT" 2>"$WORK/err" || { echo "FAILED $name"; cat "$WORK/err"; return 1; }
  after=$(cpu_sum $pids)
  [[ $pids == "$SERVER" ]] && rss=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER/status")
  read -r wall user sys <"$WORK/time"
  local self=
  grep -q throughputMBps "$LAST_OUT" 2>/dev/null && self=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["throughputMBps"])' "$LAST_OUT")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$file" "$ROUND" "$wall" "$(python3 -c "print($user+$sys)")" \
    "$(python3 -c "print(round($after-$before,2))")" "${rss:-}" "${self:-}" "$(cat /proc/loadavg | cut -d' ' -f1)" >>"$RESULTS"
  printf '  %-28s %-14s %6.2f s  %7.1f MB/s\n' "$name" "$file" "$wall" "$(python3 -c "print($BYTES/$wall/1e6)")"
}
same() { cmp -s "$1" "$2" || { echo "MISMATCH: $2 differs from $1" >&2; exit 1; }; }
fetch_tmf() { curl -sS --fail --cacert "$CERT" -H "Authorization: Bearer $TOKEN" -o "$2" "https://127.0.0.1:$TMF_PORT/v1/files/$1"; }
drop_tmf() { curl -sS --fail --cacert "$CERT" -H "Authorization: Bearer $TOKEN" -X DELETE -o /dev/null "https://127.0.0.1:$TMF_PORT/v1/files/$1"; }

push() { # push NAME FILE [flags...]
  local name=$1 file=$2 remote; shift 2
  remote=bench/${name// /-}
  measure "$name" "$(basename "$file")" "$SERVER" "$TMF" push "$file" "https://127.0.0.1:$TMF_PORT/$remote" --ca "$CERT" --token-file "$TOKEN_FILE" --json $EXTRA_PUSH "$@"
  fetch_tmf "$remote" "$WORK/check.bin"; same "$file" "$WORK/check.bin"; rm -f "$WORK/check.bin"; drop_tmf "$remote"
}
sink() { measure "sink c$1" random.bin "$SINK" "$TMF" bench sink-client --connect "127.0.0.1:$SINK_PORT" --connections "$1" --size "$BYTES" --json; }

TOOLS_RANDOM=("sink 1" "sink 2" "sink 4" "sink 8" "push_default" "push_c1" "push_c2" "push_c8" "push_h2" "push_sha256" "pull" "curl_oneshot" "scp_up" "scp_down" "nginx_put")
TOOLS_CSV=("push_default" "scp_up" "nginx_put")
[[ $QUICK == 1 ]] && TOOLS_RANDOM=("sink 4" "push_default" "scp_up" "nginx_put") && TOOLS_CSV=()

# Pull needs a committed file on the server.
"$TMF" push "$WORK/random.bin" "https://127.0.0.1:$TMF_PORT/bench/pull-source" --ca "$CERT" --token-file "$TOKEN_FILE" --json >/dev/null

run_tool() { # run_tool TOOL FILE
  local tool=$1 file=$2 base; base=$(basename "$file")
  case $tool in
    sink*) sink "${tool#sink }" ;;
    push_default) push "push" "$file" ;;
    push_c*) push "push c${tool#push_c}" "$file" --connections "${tool#push_c}" ;;
    push_h2) push "push http2" "$file" --http 2 ;;
    push_sha256) push "push verify-sha256" "$file" --verify sha256 ;;
    pull)
      measure "pull" "$base" "$SERVER" "$TMF" pull "https://127.0.0.1:$TMF_PORT/bench/pull-source" "$WORK/pulled.bin" --ca "$CERT" --token-file "$TOKEN_FILE" --json
      same "$file" "$WORK/pulled.bin"; rm -f "$WORK/pulled.bin" ;;
    curl_oneshot)
      measure "curl -T one-shot PUT" "$base" "$SERVER" curl -sS --fail --tlsv1.3 --cacert "$CERT" -H "Authorization: Bearer $TOKEN" -T "$file" -o /dev/null "https://127.0.0.1:$TMF_PORT/v1/files/bench/curl"
      fetch_tmf bench/curl "$WORK/check.bin"; same "$file" "$WORK/check.bin"; rm -f "$WORK/check.bin"; drop_tmf bench/curl ;;
    scp_up)
      measure "scp aes256-gcm upload" "$base" "$SSHD" scp "${SSH_OPTS[@]}" "$file" "$SSH_USER@127.0.0.1:$WORK/scp.out"
      same "$file" "$WORK/scp.out"; rm -f "$WORK/scp.out" ;;
    scp_down)
      measure "scp aes256-gcm download" "$base" "$SSHD" scp "${SSH_OPTS[@]}" "$SSH_USER@127.0.0.1:$file" "$WORK/scp.in"
      same "$file" "$WORK/scp.in"; rm -f "$WORK/scp.in" ;;
    nginx_put)
      measure "curl PUT → nginx TLS 1.3" "$base" "$(nginx_pids)" curl -sS --fail --tlsv1.3 --cacert "$WORK/nginx/cert.pem" -T "$file" -o /dev/null "https://127.0.0.1:$NGINX_PORT/up/$base"
      same "$file" "$WORK/nginx/root/up/$base"; rm -f "$WORK/nginx/root/up/$base" ;;
  esac
}

printf 'tool\tfile\tround\twall_s\tclient_cpu_s\tserver_cpu_s\tserver_peak_rss_kib\tself_reported_MBps\tload1\n' >"$RESULTS"
LOAD_START=$(cat /proc/loadavg)
for ROUND in $(seq "$ROUNDS"); do
  echo "round $ROUND (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for t in "${TOOLS_RANDOM[@]}"; do run_tool "$t" "$WORK/random.bin"; done
  for t in "${TOOLS_CSV[@]}"; do run_tool "$t" "$WORK/historian.csv"; done
done
LOAD_END=$(cat /proc/loadavg)

python3 "$ROOT/bench/transfer/summarize.py" "$RESULTS" "$BYTES" "$LOAD_START" "$LOAD_END"
cp "$RESULTS" "${RESULTS_COPY:-/dev/null}" 2>/dev/null || true
