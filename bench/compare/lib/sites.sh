# shellcheck shell=bash
# The server side of every tool, with throwaway keys and certificates: turbomft serve, the bare TLS sink, sshd (scp,
# sftp, rsync, rclone's sftp backend) and nginx. A "site" is one such set: "lo" on 127.0.0.1, or "ns" inside a
# network namespace joined to the clients' namespace by a rate-limited veth pair. Sourced by bench/compare/run.sh.

PIDS=()

die() { say "compare: $*"; exit 2; }

free_port() { # a TCP port nobody listens on (in the given namespace, if any)
  local ns=${1:-} p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if [[ -n $ns ]]; then ip netns exec "$ns" ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    else ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }; fi
  done
  die "no free port found"
}

wait_for() { # wait_for FILE PATTERN SECONDS
  local i
  for i in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# --- peers: which are here, installing the missing ones with apt-get ------------------------------------------------
declare -A PEER_SKIP=()
APT_UPDATED=0
apt_install() {
  [[ $INSTALL == 1 ]] || return 1
  [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || return 1
  local policy=/usr/sbin/policy-rc.d added=
  # The packages' scripts must not start sshd or nginx as system services: deny every start during the install.
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added=1; fi
  if [[ $APT_UPDATED == 0 ]]; then apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
  local rc=$?
  [[ -n $added ]] && rm -f "$policy"
  return $rc
}

ensure_peers() {
  local -A need=() ; local pkg
  # The harness's own needs: the clock and CPU counter, the port check, the certificates.
  [[ -x /usr/bin/time ]] || need[time]=1
  command -v ss >/dev/null || need[iproute2]=1
  command -v openssl >/dev/null || need[openssl]=1
  command -v curl >/dev/null || need[curl]=1
  [[ -x /usr/sbin/sshd ]] && command -v scp >/dev/null && command -v sftp >/dev/null || need[openssh-server]=1
  command -v rsync >/dev/null || need[rsync]=1
  command -v rclone >/dev/null || need[rclone]=1
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need[nginx]=1
  command -v ip >/dev/null && command -v tc >/dev/null || need[iproute2]=1
  if (( ${#need[@]} > 0 )); then
    say "compare: installing ${!need[*]}"
    apt_install "${!need[@]}" || say "compare: could not install ${!need[*]} (not root, no apt-get, --no-install, or no network): those peers are skipped"
  fi
  local tool
  for tool in /usr/bin/time ss openssl curl; do command -v "$tool" >/dev/null || die "$tool is needed (apt-get install time iproute2 openssl curl)"; done
  [[ -x /usr/sbin/sshd ]] && command -v scp >/dev/null || PEER_SKIP[ssh]="openssh-server not installed"
  command -v rsync >/dev/null || PEER_SKIP[rsync]="rsync not installed"
  [[ -z ${PEER_SKIP[ssh]:-} ]] || PEER_SKIP[rsync]="needs sshd"
  command -v rclone >/dev/null || PEER_SKIP[rclone]="rclone not installed"
  [[ -z ${PEER_SKIP[ssh]:-} ]] || PEER_SKIP[rclone]="needs sshd"
  NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $NGINX_BIN ]] || PEER_SKIP[nginx]="nginx not installed"
  for pkg in "${!PEER_SKIP[@]}"; do say "compare: skipping $pkg: ${PEER_SKIP[$pkg]}"; done
}
has_peer() { [[ -z ${PEER_SKIP[$1]:-} ]]; }

peer_versions() {
  printf 'turbomft\t%s\n' "$("$TMF" --version 2>/dev/null | head -1)"
  has_baseline && printf 'turbomft-baseline\t%s (%s)\n' "$("$TMF_BASELINE" --version 2>/dev/null | head -1)" "$TMF_BASELINE"
  has_peer ssh && printf 'openssh\t%s\n' "$(ssh -V 2>&1 | head -1)"
  has_peer rsync && printf 'rsync\t%s\n' "$(rsync --version | head -1 | sed 's/  */ /g')"
  has_peer rclone && printf 'rclone\t%s\n' "$(rclone version 2>/dev/null | head -1)"
  has_peer nginx && printf 'nginx\t%s\n' "$("$NGINX_BIN" -v 2>&1 | head -1)"
  printf 'curl\t%s\n' "$(curl --version | head -1 | cut -d' ' -f1-2,4-5)"
}

# --- the link: two namespaces and a veth pair, token-bucket limited on both ends --------------------------------------
NS_SERVER=tmfcmp-s$$
NS_CLIENT=tmfcmp-c$$
NS_SERVER_IF=tmfs$$
NS_CLIENT_IF=tmfc$$
NS_SERVER_ADDR=10.213.71.1
NS_CLIENT_ADDR=10.213.71.2
LINK_UP=0
link_up() {
  [[ $LINK_UP == 1 ]] && return 0
  [[ $(id -u) == 0 ]] || { LINK_ERROR="needs root (ip netns)"; return 1; }
  command -v ip >/dev/null && command -v tc >/dev/null || { LINK_ERROR="ip/tc (iproute2) not installed"; return 1; }
  LINK_UP=1 # from here on, link_down cleans whatever was made
  {
    ip netns add "$NS_SERVER" && ip netns add "$NS_CLIENT" &&
      ip link add "$NS_SERVER_IF" type veth peer name "$NS_CLIENT_IF" &&
      ip link set "$NS_SERVER_IF" netns "$NS_SERVER" && ip link set "$NS_CLIENT_IF" netns "$NS_CLIENT" &&
      ip -n "$NS_SERVER" addr add "$NS_SERVER_ADDR/30" dev "$NS_SERVER_IF" &&
      ip -n "$NS_CLIENT" addr add "$NS_CLIENT_ADDR/30" dev "$NS_CLIENT_IF" &&
      ip -n "$NS_SERVER" link set lo up && ip -n "$NS_CLIENT" link set lo up &&
      ip -n "$NS_SERVER" link set "$NS_SERVER_IF" up && ip -n "$NS_CLIENT" link set "$NS_CLIENT_IF" up &&
      ip netns exec "$NS_SERVER" tc qdisc add dev "$NS_SERVER_IF" root tbf rate "$LINK_RATE" burst "$LINK_BURST" latency 50ms &&
      ip netns exec "$NS_CLIENT" tc qdisc add dev "$NS_CLIENT_IF" root tbf rate "$LINK_RATE" burst "$LINK_BURST" latency 50ms
  } 2>"$WORK/link.err" || { LINK_ERROR="network namespace setup failed: $(head -1 "$WORK/link.err")"; link_down; return 1; }
  say "compare: link $NS_CLIENT_ADDR -> $NS_SERVER_ADDR, tbf $LINK_RATE on both ends"
}
link_down() {
  [[ $LINK_UP == 1 ]] || return 0
  ip netns del "$NS_CLIENT" 2>/dev/null
  ip netns del "$NS_SERVER" 2>/dev/null # removes the veth pair with it
  LINK_UP=0
}

# --- one site ----------------------------------------------------------------------------------------------------------
# site_start lo|ns: starts every server of the site; site_use lo|ns points the S_* globals at it.
declare -A SITE=()
site_start() {
  local site=$1 dir=$WORK/site-$1 host ns= exec=()
  [[ -n ${SITE[$site.up]:-} ]] && return 0
  if [[ $site == ns ]]; then host=$NS_SERVER_ADDR ns=$NS_SERVER exec=(ip netns exec "$NS_SERVER"); else host=127.0.0.1; fi
  mkdir -p "$dir/out" "$dir/cache"
  SITE[$site.dir]=$dir SITE[$site.host]=$host SITE[$site.ns]=$ns

  # turbomft serve on a fresh data directory (certificate, master key, admin token made at first start).
  tmf_start "$site"

  # The sink, the Kestrel TLS 1.3 ceiling: loopback only (S1).
  if [[ $site == lo ]]; then
    "${exec[@]}" "$TMF" bench sink --data "$dir/tmf" --listen "$host:0" >"$dir/sink.log" 2>&1 &
    SITE[$site.sink_pid]=$!; PIDS+=($!)
    wait_for "$dir/sink.log" listening 30 || die "bench sink did not start: $(cat "$dir/sink.log")"
    SITE[$site.sink_port]=$(sed -n 's/.*listening on [a-z]*:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/sink.log" | head -1)
  fi

  if has_peer ssh; then
    local port; port=$(free_port "$ns")
    mkdir -p "$dir/ssh" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/client_key"
    cp "$dir/ssh/client_key.pub" "$dir/ssh/authorized_keys"
    # aes256-gcm for every OpenSSH client (-c); rclone's SSH library offers no aes256-gcm, so it gets aes128-gcm.
    cat >"$dir/ssh/sshd_config" <<CFG
Port $port
ListenAddress $host
HostKey $dir/ssh/host_key
AuthorizedKeysFile $dir/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $dir/ssh/sshd.pid
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com
MaxStartups 64
MaxSessions 64
Subsystem sftp internal-sftp
CFG
    "${exec[@]}" /usr/sbin/sshd -D -f "$dir/ssh/sshd_config" -E "$dir/ssh/sshd.log" &
    SITE[$site.sshd_pid]=$!; PIDS+=($!)
    SITE[$site.ssh_port]=$port
  fi

  if has_peer nginx; then
    local port; port=$(free_port "$ns")
    mkdir -p "$dir/nginx/root/up" "$dir/nginx/root/dl" "$dir/nginx/tmp" "$dir/nginx/logs"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
      -addext "subjectAltName=IP:$host,DNS:localhost" -keyout "$dir/nginx/key.pem" -out "$dir/nginx/cert.pem" 2>/dev/null
    local user_line=; [[ $(id -u) == 0 ]] && user_line="user root;"
    cat >"$dir/nginx/nginx.conf" <<CFG
$user_line
worker_processes auto;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $dir/nginx/tmp;
  proxy_temp_path $dir/nginx/tmp; fastcgi_temp_path $dir/nginx/tmp; uwsgi_temp_path $dir/nginx/tmp; scgi_temp_path $dir/nginx/tmp;
  server {
    listen $host:$port ssl;
    ssl_certificate $dir/nginx/cert.pem;
    ssl_certificate_key $dir/nginx/key.pem;
    ssl_protocols TLSv1.3;
    client_max_body_size 0;
    location /up/ { root $dir/nginx/root; dav_methods PUT; create_full_put_path on; }
    location /dl/ { root $dir/nginx/root; }
  }
}
CFG
    "${exec[@]}" "$NGINX_BIN" -c "$dir/nginx/nginx.conf" -g 'daemon off;' 2>"$dir/nginx/logs/start.log" &
    SITE[$site.nginx_pid]=$!; PIDS+=($!)
    SITE[$site.nginx_port]=$port
  fi
  sleep 0.5
  has_peer ssh && { kill -0 "${SITE[$site.sshd_pid]}" 2>/dev/null || die "sshd did not start: $(cat "$dir/ssh/sshd.log")"; }
  has_peer nginx && { kill -0 "${SITE[$site.nginx_pid]}" 2>/dev/null || die "nginx did not start: $(cat "$dir/nginx/logs/"*)"; }
  SITE[$site.up]=1
}

# turbomft serve for a site, on a fresh data directory; tmf_restart empties it (S3 between rounds: no folder delete).
# With TMF_BASELINE (the turbomft of another build), the site also serves that build, on its own data directory, so that
# a change is measured against the build before it in the same run (as_baseline).
tmf_start() {
  local site=$1 dir=${SITE[$1.dir]} host=${SITE[$1.host]} ns=${SITE[$1.ns]}
  local -a exec=(); [[ -n $ns ]] && exec=(ip netns exec "$ns")
  rm -rf "$dir/tmf"
  "${exec[@]}" "$TMF" serve --data "$dir/tmf" --listen "$host:0" >"$dir/serve.log" 2>&1 &
  SITE[$site.tmf_pid]=$!; PIDS+=($!)
  wait_for "$dir/serve.log" '^certificate' 60 || die "turbomft serve did not start: $(cat "$dir/serve.log")"
  SITE[$site.tmf_port]=$(sed -n 's/.*serving https:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/serve.log" | head -1)
  SITE[$site.tmf_pin]=$(grep -o 'sha256:[0-9a-fA-F]*' "$dir/serve.log" | head -1)
  [[ -n ${TMF_BASELINE:-} ]] || return 0
  rm -rf "$dir/tmf-base"
  "${exec[@]}" "$TMF_BASELINE" serve --data "$dir/tmf-base" --listen "$host:0" >"$dir/serve-base.log" 2>&1 &
  SITE[$site.base_pid]=$!; PIDS+=($!)
  wait_for "$dir/serve-base.log" '^certificate' 60 || die "the baseline's turbomft serve did not start: $(cat "$dir/serve-base.log")"
  SITE[$site.base_port]=$(sed -n 's/.*serving https:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/serve-base.log" | head -1)
  SITE[$site.base_pin]=$(grep -o 'sha256:[0-9a-fA-F]*' "$dir/serve-base.log" | head -1)
}
tmf_restart() {
  local site=$1 pid=${SITE[$1.tmf_pid]} base=${SITE[$1.base_pid]:-}
  kill "$pid" $base 2>/dev/null; wait "$pid" $base 2>/dev/null
  tmf_start "$site"
  site_use "$site"
  tmf_warm_up
}

# as_baseline STEP ARGS...: runs a tmf_* step (push, pull, fetch, delete, warm-up) with the baseline build on both
# sides: its client against its server on the current site; the S_TMF_* globals are restored after.
as_baseline() {
  [[ -n ${TMF_BASELINE:-} ]] || die "as_baseline without TMF_BASELINE"
  local saved_tmf=$TMF rc
  TMF=$TMF_BASELINE S_TMF_PID=${SITE[$S_SITE.base_pid]} S_TMF_URL="https://$S_HOST:${SITE[$S_SITE.base_port]}"
  S_TMF_PIN=${SITE[$S_SITE.base_pin]} S_TMF_TOKEN_FILE=$S_DIR/tmf-base/admin.token S_TMF_CA=$S_DIR/tmf-base/tls/server.crt
  export XDG_CACHE_HOME=$S_DIR/cache-base
  "$@"; rc=$?
  # From the site's table, not saved copies: the step may have restarted the servers (S3's tmf_restart).
  TMF=$saved_tmf
  site_use "$S_SITE"
  return $rc
}
has_baseline() { [[ -n ${TMF_BASELINE:-} ]]; }

# Points the S_* globals (and CLIENT_NS/CLIENT_IF for the measurement) at a site.
site_use() {
  local site=$1
  S_SITE=$site S_DIR=${SITE[$site.dir]} S_HOST=${SITE[$site.host]} S_NS=${SITE[$site.ns]}
  S_TMF_PID=${SITE[$site.tmf_pid]} S_TMF_URL="https://${SITE[$site.host]}:${SITE[$site.tmf_port]}"
  S_TMF_PIN=${SITE[$site.tmf_pin]} S_TMF_TOKEN_FILE=$S_DIR/tmf/admin.token S_TMF_CA=$S_DIR/tmf/tls/server.crt
  S_SSHD_PID=${SITE[$site.sshd_pid]:-} S_SSH_PORT=${SITE[$site.ssh_port]:-}
  S_NGINX_PID=${SITE[$site.nginx_pid]:-} S_NGINX_PORT=${SITE[$site.nginx_port]:-}
  S_SINK_PID=${SITE[$site.sink_pid]:-} S_SINK_PORT=${SITE[$site.sink_port]:-}
  S_OUT=$S_DIR/out
  S_EXEC=(); [[ -n $S_NS ]] && S_EXEC=(ip netns exec "$S_NS")
  if [[ $site == ns ]]; then CLIENT_NS=$NS_CLIENT CLIENT_IF=$NS_CLIENT_IF; else CLIENT_NS= CLIENT_IF=; fi
  export XDG_CACHE_HOME=$S_DIR/cache # turbomft's resume records, per site
  SSH_OPTS=(-i "$S_DIR/ssh/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
    -o LogLevel=ERROR -c aes256-gcm@openssh.com)
  SSH_CMD="ssh -p $S_SSH_PORT ${SSH_OPTS[*]}"
  SSH_TARGET="$(id -un)@$S_HOST"
  # rclone's sftp remote "cmp:" from the environment (no config file needed).
  export RCLONE_CONFIG_CMP_TYPE=sftp RCLONE_CONFIG_CMP_HOST=$S_HOST RCLONE_CONFIG_CMP_PORT=$S_SSH_PORT
  export RCLONE_CONFIG_CMP_USER; RCLONE_CONFIG_CMP_USER=$(id -un)
  export RCLONE_CONFIG_CMP_KEY_FILE=$S_DIR/ssh/client_key RCLONE_CONFIG_CMP_SHELL_TYPE=unix
  RCLONE=(rclone --config "$WORK/rclone.conf" -q --retries 1 --low-level-retries 2)
  nginx_pids_of_site
}
nginx_pids_of_site() {
  S_NGINX_PIDS=
  [[ -n $S_NGINX_PID ]] || return 0
  TREE=(); collect_descendants "$S_NGINX_PID"
  S_NGINX_PIDS="$S_NGINX_PID ${TREE[*]}"
}

# Fetches a file from the site's turbomft server, on the server's side of the link (outside any timing).
tmf_fetch() { # tmf_fetch REMOTE LOCAL
  "${S_EXEC[@]}" curl -sS --fail --tlsv1.3 --cacert "$S_TMF_CA" --resolve "localhost:${S_TMF_URL##*:}:$S_HOST" \
    -H "Authorization: Bearer $(cat "$S_TMF_TOKEN_FILE")" -o "$2" "https://localhost:${S_TMF_URL##*:}/v1/files/$1"
}
tmf_delete() {
  "${S_EXEC[@]}" curl -sS --fail --tlsv1.3 --cacert "$S_TMF_CA" --resolve "localhost:${S_TMF_URL##*:}:$S_HOST" \
    -H "Authorization: Bearer $(cat "$S_TMF_TOKEN_FILE")" -X DELETE -o /dev/null "https://localhost:${S_TMF_URL##*:}/v1/files/$1" || true
}
tmf_client() { "$TMF" "$@" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE"; }
# One small push before measuring, so no measured transfer pays the server's first-request costs (the baseline's too).
tmf_warm_up() {
  tmf_warm_up_one
  if has_baseline; then as_baseline tmf_warm_up_one; fi
}
tmf_warm_up_one() {
  head -c 1048576 /dev/urandom >"$WORK/warm.bin"
  local -a prefix=(); [[ -n $CLIENT_NS ]] && prefix=(ip netns exec "$CLIENT_NS")
  "${prefix[@]}" "$TMF" push "$WORK/warm.bin" "$S_TMF_URL/warm/up.bin" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json >/dev/null 2>&1 ||
    say "compare: warm-up push failed on site $S_SITE ($TMF)"
  tmf_delete warm/up.bin
}

stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}
