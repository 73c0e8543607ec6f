# shellcheck shell=bash
# The scenarios S1–S5 and each tool's transfer with its check. Every tool function measures one transfer, compares the
# result with the source, records one row, and removes the result. Sourced by bench/compare/run.sh.

# --- rounds: every tool once per round, odd rounds in the listed order and even rounds reversed -------------------------
rounds() { # rounds TOOL_CALL... (each a string: function and arguments)
  local -a tools=("$@") order
  local i
  for ROUND in $(seq "$ROUNDS"); do
    say "  round $ROUND/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    order=()
    if (( ROUND % 2 )); then order=("${tools[@]}"); else for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[$i]}"); done; fi
    for i in "${order[@]}"; do eval "$i"; done
  done
}

json_field() { grep -o "\"$1\": *[0-9]*" "$2" 2>/dev/null | head -1 | grep -o '[0-9]*$'; }
same_file() { cmp "$1" "$2"; }
same_tree() { diff -r "$1" "$2" >/dev/null || { echo "diff -r: $2 differs from $1"; return 1; }; }
files_of() { find "$1" -type f | wc -l; }

# Common arguments of every tool function: SCENARIO DATASET KEY LABEL ROLE SOURCE (file or directory).
# Uploads land in $S_OUT (the site's server side); downloads in $CLIENT_OUT.

# --- uploads of one file -------------------------------------------------------------------------------------------------
tmf_push() { # ... [push flags]
  local scenario=$1 dataset=$2 key=$3 label=$4 role=$5 src=$6; shift 6
  local remote="cmp/$scenario-$key-r$ROUND/$(basename "$src")" bytes; bytes=$(stat -c %s "$src")
  SERVER_PIDS=$S_TMF_PID SETTLE_PID=
  run_measured "$TMF" push "$src" "$S_TMF_URL/$remote" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json "$@"
  judge tmf_same "$remote" "$src"
  record "$scenario" "$dataset" "$key" "$label" "$role" "${PHASE:-}" "$bytes" 1 "$OK" "$(tmf_extra "$@")" "$NOTE"
  tmf_delete "$remote"
}
tmf_same() { rm -f "$WORK/check.bin"; tmf_fetch "$1" "$WORK/check.bin" && cmp "$2" "$WORK/check.bin"; local rc=$?; rm -f "$WORK/check.bin"; return $rc; }
tmf_extra() { # what push --json said about the bytes it sent
  local sent skipped chunks connections=4 a
  sent=$(json_field bytesSent "$WORK/m.out"); skipped=$(json_field chunksSkipped "$WORK/m.out"); chunks=$(json_field chunks "$WORK/m.out")
  for a in "$@"; do [[ ${prev:-} == --connections ]] && connections=$a; local prev=$a; done
  echo "sent=${sent:-};skipped=${skipped:-};chunks=${chunks:-};connections=$connections;chunk_size=$CHUNK_SIZE"
}

# one_file SCENARIO DATASET KEY LABEL ROLE SOURCE RESULT EXTRA COMMAND...: measures COMMAND, checks RESULT against
# SOURCE with cmp, records the row, removes RESULT. The caller sets SERVER_PIDS and SETTLE_PID.
one_file() {
  local scenario=$1 dataset=$2 key=$3 label=$4 role=$5 src=$6 result=$7 extra=$8; shift 8
  run_measured "$@"
  judge same_file "$src" "$result"
  record "$scenario" "$dataset" "$key" "$label" "$role" "${PHASE:-}" "$(stat -c %s "$src")" 1 "$OK" "$extra" "$NOTE"
  rm -f "$result"
}
ssh_side() { SERVER_PIDS=$S_SSHD_PID SETTLE_PID=$S_SSHD_PID; }

scp_up() { # ... [scp flags]
  local dst=$S_OUT/$3.out; ssh_side
  one_file "${@:1:6}" "$dst" "" scp -q -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "${@:7}" "$6" "$SSH_TARGET:$dst"
}
sftp_up() {
  local dst=$S_OUT/$3.out; ssh_side
  printf 'put %s %s\n' "$6" "$dst" >"$WORK/sftp.batch"
  one_file "${@:1:6}" "$dst" "" sftp -q -b "$WORK/sftp.batch" -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$SSH_TARGET"
}
rsync_up() { # ... [rsync flags]
  local dst=$S_OUT/$3.out; ssh_side
  one_file "${@:1:6}" "$dst" "" rsync "${@:7}" -e "$SSH_CMD" "$6" "$SSH_TARGET:$dst"
}
rclone_up() {
  local dst=$S_OUT/$3.out; ssh_side
  one_file "${@:1:6}" "$dst" "" "${RCLONE[@]}" copyto "$6" "cmp:$dst"
}
nginx_up() {
  local name; name=$3-$(basename "$6")
  SERVER_PIDS=$S_NGINX_PIDS SETTLE_PID=
  one_file "${@:1:6}" "$S_DIR/nginx/root/up/$name" "" \
    curl -sS --fail --tlsv1.3 --cacert "$S_DIR/nginx/cert.pem" -T "$6" -o /dev/null "https://$S_HOST:$S_NGINX_PORT/up/$name"
}

sink_send() {
  local scenario=$1 dataset=$2 key=$3 label=$4 role=$5 src=$6 connections=$7
  local bytes; bytes=$(stat -c %s "$src")
  SERVER_PIDS=$S_SINK_PID SETTLE_PID=
  run_measured "$TMF" bench sink-client --connect "$S_HOST:$S_SINK_PORT" --connections "$connections" --size "$bytes" --json
  judge sink_counted "$bytes"
  record "$scenario" "$dataset" "$key" "$label" "$role" "" "$bytes" 1 "$OK" "connections=$connections" "$NOTE"
}
sink_counted() { [[ $(json_field bytes "$WORK/m.out") == "$1" ]] || { echo "the sink counted $(json_field bytes "$WORK/m.out") bytes, not $1"; return 1; }; }

# --- downloads of one file (S5): the source is on the server's side; results land in $CLIENT_OUT ----------------------
tmf_pull() { # ... REMOTE [pull flags]
  SERVER_PIDS=$S_TMF_PID SETTLE_PID=
  one_file "${@:1:6}" "$CLIENT_OUT/$3.in" "" "$TMF" pull "$S_TMF_URL/$7" "$CLIENT_OUT/$3.in" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json "${@:8}"
}
scp_down() { ssh_side; one_file "${@:1:6}" "$CLIENT_OUT/$3.in" "" scp -q -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$SSH_TARGET:$6" "$CLIENT_OUT/$3.in"; }
sftp_down() {
  ssh_side
  printf 'get %s %s\n' "$6" "$CLIENT_OUT/$3.in" >"$WORK/sftp.batch"
  one_file "${@:1:6}" "$CLIENT_OUT/$3.in" "" sftp -q -b "$WORK/sftp.batch" -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$SSH_TARGET"
}
rsync_down() { ssh_side; one_file "${@:1:6}" "$CLIENT_OUT/$3.in" "" rsync -e "$SSH_CMD" "$SSH_TARGET:$6" "$CLIENT_OUT/$3.in"; }
rclone_down() {
  ssh_side
  one_file "${@:1:6}" "$CLIENT_OUT/$3.in" "streams=4" "${RCLONE[@]}" copyto "cmp:$6" "$CLIENT_OUT/$3.in" --multi-thread-streams 4 --multi-thread-cutoff 8Mi
}
nginx_down() {
  SERVER_PIDS=$S_NGINX_PIDS SETTLE_PID=
  one_file "${@:1:6}" "$CLIENT_OUT/$3.in" "" curl -sS --fail --tlsv1.3 --cacert "$S_DIR/nginx/cert.pem" -o "$CLIENT_OUT/$3.in" "https://$S_HOST:$S_NGINX_PORT/dl/$(basename "$6")"
}

# --- uploads of a directory tree (S3) ---------------------------------------------------------------------------------
tmf_push_dir() { # ... [push flags]
  local scenario=$1 dataset=$2 key=$3 label=$4 role=$5 src=$6; shift 6
  local remote="cmp/$scenario-$dataset-$key-r$ROUND"
  SERVER_PIDS=$S_TMF_PID SETTLE_PID=
  run_measured "$TMF" push "$src" "$S_TMF_URL/$remote/" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json "$@"
  judge tmf_same_tree "$remote/$(basename "$src")/" "$src"
  record "$scenario" "$dataset" "$key" "$label" "$role" "" "$(du -s -B1 --apparent-size "$src" | cut -f1)" "$(files_of "$src")" "$OK" "" "$NOTE"
  # The server keeps every pushed file and has no folder delete: a fresh server for the next measurement (the smoke
  # run's few files can stay).
  (( SMOKE )) || tmf_restart "$S_SITE"
}
tmf_same_tree() {
  rm -rf "$WORK/pulled"
  "${S_EXEC[@]}" "$TMF" pull "$S_TMF_URL/$1" "$WORK/pulled" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" >/dev/null &&
    same_tree "$2" "$WORK/pulled"
  local rc=$?; rm -rf "$WORK/pulled"; return $rc
}
# one_tree SCENARIO DATASET KEY LABEL ROLE SOURCE RESULT EXTRA COMMAND...: as one_file, for a tree (diff -r).
one_tree() {
  local scenario=$1 dataset=$2 key=$3 label=$4 role=$5 src=$6 result=$7 extra=$8; shift 8
  run_measured "$@"
  judge same_tree "$src" "$result"
  record "$scenario" "$dataset" "$key" "$label" "$role" "" "$(du -s -B1 --apparent-size "$src" | cut -f1)" "$(files_of "$src")" "$OK" "$extra" "$NOTE"
  rm -rf "$result"
}
# --- downloads of a directory tree (S6): into a fresh client folder each time ---------------------------------------------
tmf_pull_dir() { # SCENARIO DATASET KEY LABEL ROLE SRC REMOTE [pull flags]
  local remote=$7
  SERVER_PIDS=$S_TMF_PID SETTLE_PID=
  one_tree "${@:1:6}" "$CLIENT_OUT/$3.d" "" "$TMF" pull "$S_TMF_URL/$remote/" "$CLIENT_OUT/$3.d" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json "${@:8}"
}
scp_dir_down() { ssh_side; one_tree "${@:1:6}" "$CLIENT_OUT/$3.d" "" scp -q -r -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$SSH_TARGET:$6" "$CLIENT_OUT/$3.d"; }
rsync_dir_down() { ssh_side; one_tree "${@:1:6}" "$CLIENT_OUT/$3.d" "" rsync -a -e "$SSH_CMD" "$SSH_TARGET:$6/" "$CLIENT_OUT/$3.d/"; }
sftp_dir_down() {
  ssh_side
  printf 'get -r %s %s\n' "$6" "$CLIENT_OUT/$3.d" >"$WORK/sftp.batch"
  one_tree "${@:1:6}" "$CLIENT_OUT/$3.d" "" sftp -q -b "$WORK/sftp.batch" -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$SSH_TARGET"
}

scp_dir() { ssh_side; one_tree "${@:1:6}" "$S_OUT/$3.d" "" scp -q -r -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$6" "$SSH_TARGET:$S_OUT/$3.d"; }
sftp_dir() {
  ssh_side
  printf 'put -r %s %s\n' "$6" "$S_OUT/$3.d" >"$WORK/sftp.batch"
  one_tree "${@:1:6}" "$S_OUT/$3.d" "" sftp -q -b "$WORK/sftp.batch" -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$SSH_TARGET"
}
rsync_dir() { ssh_side; one_tree "${@:1:6}" "$S_OUT/$3.d" "" rsync -a -e "$SSH_CMD" "$6/" "$SSH_TARGET:$S_OUT/$3.d/"; }
# rclone checks every file's MD5 by running md5sum over a new ssh session: ≈ 0.1 s of server CPU per file, which would
# dominate (and take minutes for 10,000 files); off here, and said so in the label.
rclone_dir() {
  ssh_side
  one_tree "${@:1:6}" "$S_OUT/$3.d" "transfers=4;hashcheck=off" "${RCLONE[@]}" copy "$6" "cmp:$S_OUT/$3.d" --sftp-disable-hashcheck
}

# --- S4: interrupted at about half, then run again ----------------------------------------------------------------------
# Bytes the server side holds for an upload in progress: for turbomft the chunks its upload status lists as received
# (GET /v1/uploads/{id}, the id from the client's resume record), for the others the size of the files in their
# destination directory (partial and temporary files included).
held_bytes() { # held_bytes TOOL DEST_DIR SIZE
  if [[ $1 == tmf ]]; then
    local record id status received chunk
    record=$(ls -t "$XDG_CACHE_HOME"/turbomft/uploads/*.json 2>/dev/null | head -1)
    [[ -n $record ]] || { echo 0; return; }
    id=$(grep -o '"uploadId": *"[^"]*"' "$record" | sed 's/.*"\([^"]*\)"$/\1/')
    status=$("${S_EXEC[@]}" curl -sS --tlsv1.3 --cacert "$S_TMF_CA" --resolve "localhost:${S_TMF_URL##*:}:$S_HOST" \
      -H "Authorization: Bearer $(cat "$S_TMF_TOKEN_FILE")" "https://localhost:${S_TMF_URL##*:}/v1/uploads/$id" 2>/dev/null)
    received=$(grep -o '"received": *\[[^]]*\]' <<<"$status" | grep -o '[0-9][0-9]*' | wc -l)
    chunk=$(grep -o '"chunkSize": *[0-9]*' <<<"$status" | grep -o '[0-9]*$')
    local held=$((received * ${chunk:-0}))
    (( held > $3 )) && held=$3
    echo "$held"
  else
    find "$2" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
  fi
}

# s4_tool TOOL KEY LABEL ROLE SRC: a clean transfer, then one killed (SIGKILL of the client's process tree) once the
# server holds half the bytes, then the same command again to completion. Three rows: clean, first, rerun.
s4_tool() {
  local tool=$1 key=$2 label=$3 role=$4 src=$5
  local size; size=$(stat -c %s "$src")
  local dst=$S_OUT/s4-$key name; name=$(basename "$src")
  local -a cmd
  case $tool in
    tmf) cmd=("$TMF" push "$src" "$S_TMF_URL/cmp/S4-r$ROUND/$name" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json)
      SERVER_PIDS=$S_TMF_PID SETTLE_PID= ;;
    rsync) cmd=(rsync --partial -e "$SSH_CMD" "$src" "$SSH_TARGET:$dst/$name"); SERVER_PIDS=$S_SSHD_PID SETTLE_PID=$S_SSHD_PID ;;
    rclone) cmd=("${RCLONE[@]}" copyto "$src" "cmp:$dst/$name"); SERVER_PIDS=$S_SSHD_PID SETTLE_PID=$S_SSHD_PID ;;
    scp) cmd=(scp -q -P "$S_SSH_PORT" "${SSH_OPTS[@]}" "$src" "$SSH_TARGET:$dst/$name"); SERVER_PIDS=$S_SSHD_PID SETTLE_PID=$S_SSHD_PID ;;
  esac
  local check=(same_file "$src" "$dst/$name")
  [[ $tool == tmf ]] && check=(tmf_same "cmp/S4-r$ROUND/$name" "$src")

  # 1. clean: the reference for bytes on the link and time.
  rm -rf "$dst"; mkdir -p "$dst"
  if [[ $tool == tmf ]]; then
    run_measured "$TMF" push "$src" "$S_TMF_URL/cmp/S4-clean-r$ROUND/$name" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json
    judge tmf_same "cmp/S4-clean-r$ROUND/$name" "$src"; tmf_delete "cmp/S4-clean-r$ROUND/$name"
  else
    run_measured "${cmd[@]}"; judge "${check[@]}"
  fi
  record S4 random "$key" "$label" "$role" clean "$size" 1 "$OK" "" "$NOTE"
  rm -rf "$dst"; mkdir -p "$dst"

  # 2. first run, killed at half.
  ASYNC=1 run_measured "${cmd[@]}"
  local at=0 interrupted=0 p
  while kill -0 "$M_PID" 2>/dev/null; do
    at=$(held_bytes "$tool" "$dst" "$size")
    if (( at * 2 >= size )); then
      TREE=(); collect_descendants "$M_PID"
      # The client's process tree, except /usr/bin/time, which then reports the killed run's times.
      for p in "${TREE[@]}"; do [[ $(cat "/proc/$p/comm" 2>/dev/null) == time ]] || kill -KILL "$p" 2>/dev/null; done
      interrupted=1
      break
    fi
    sleep 0.05
  done
  finish_measured
  sleep "$SETTLE_SECONDS" # the server side notices the dead connection (rsync --partial keeps its partial file then)
  local held; held=$(held_bytes "$tool" "$dst" "$size")
  OK=1 NOTE=
  (( interrupted )) || NOTE="finished before half was held: not interrupted"
  record S4 random "$key" "$label" "$role" first "$size" 1 "$OK" "interrupted=$interrupted;at_kill=$at;held=$held" "$NOTE"

  # 3. the same command again, to completion.
  run_measured "${cmd[@]}"
  judge "${check[@]}"
  local extra=
  [[ $tool == tmf ]] && extra=$(tmf_extra)
  record S4 random "$key" "$label" "$role" rerun "$size" 1 "$OK" "$extra" "$NOTE"
  [[ $tool == tmf ]] && tmf_delete "cmp/S4-r$ROUND/$name"
  rm -rf "$dst"
}

# --- the scenarios ------------------------------------------------------------------------------------------------------
scenario_s1() {
  local f=$DATA/random.bin t=()
  site_start lo; site_use lo; tmf_warm_up
  t+=("sink_send S1 random sink-c4 'TLS 1.3 sink, 4 connections (ceiling)' ceiling $f 4")
  t+=("tmf_push S1 random push 'turbomft push' ref $f")
  t+=("tmf_push S1 random push-sha256 'turbomft push --verify sha256' turbomft $f --verify sha256")
  has_baseline && t+=("as_baseline tmf_push S1 random push-baseline 'turbomft push, baseline build' turbomft $f")
  if [[ $SMOKE == 0 ]]; then
    t+=("tmf_push S1 random push-c1 'turbomft push --connections 1' turbomft $f --connections 1")
    t+=("tmf_push S1 random push-c2 'turbomft push --connections 2' turbomft $f --connections 2")
    t+=("tmf_push S1 random push-c8 'turbomft push --connections 8' turbomft $f --connections 8")
    t+=("tmf_push S1 random push-h2 'turbomft push --http 2' turbomft $f --http 2")
  fi
  if has_peer ssh; then
    t+=("scp_up S1 random scp 'scp' peer $f")
    t+=("sftp_up S1 random sftp 'sftp put' peer $f")
  fi
  has_peer rsync && t+=("rsync_up S1 random rsync 'rsync over ssh' peer $f")
  has_peer rclone && t+=("rclone_up S1 random rclone 'rclone copyto (sftp)' peer $f")
  has_peer nginx && t+=("nginx_up S1 random nginx 'curl PUT → nginx' peer $f")
  rounds "${t[@]}"
}

scenario_s2() {
  local f=$DATA/historian.csv t=()
  site_start ns; site_use ns; tmf_warm_up
  t+=("tmf_push S2 historian push 'turbomft push (adaptive LZ4)' ref $f")
  t+=("tmf_push S2 historian push-raw 'turbomft push --compress none' turbomft $f --compress none")
  has_peer ssh && t+=("scp_up S2 historian scp 'scp' peer $f")
  if has_peer rsync; then
    t+=("rsync_up S2 historian rsync-z 'rsync -z (zlib) over ssh' peer $f -z")
    rsync --version | grep -qw lz4 && t+=("rsync_up S2 historian rsync-lz4 'rsync --compress-choice=lz4 over ssh' peer $f -z --compress-choice=lz4")
  fi
  has_peer rclone && t+=("rclone_up S2 historian rclone 'rclone copyto (sftp)' peer $f")
  has_peer nginx && t+=("nginx_up S2 historian nginx 'curl PUT → nginx' peer $f")
  rounds "${t[@]}"
}

scenario_s3() {
  local dataset dir t
  site_start lo; site_use lo; tmf_warm_up
  for dataset in files-64k files-1m; do
    dir=$DATA/$dataset/src
    t=()
    t+=("tmf_push_dir S3 $dataset push 'turbomft push DIR' ref $dir")
    t+=("tmf_push_dir S3 $dataset push-c16 'turbomft push DIR --connections 16' turbomft $dir --connections 16")
    has_baseline && t+=("as_baseline tmf_push_dir S3 $dataset push-baseline 'turbomft push DIR, baseline build' turbomft $dir")
    if has_peer ssh; then
      t+=("scp_dir S3 $dataset scp 'scp -r' peer $dir")
      t+=("sftp_dir S3 $dataset sftp 'sftp put -r (batch)' peer $dir")
    fi
    has_peer rsync && t+=("rsync_dir S3 $dataset rsync 'rsync -a over ssh' peer $dir")
    has_peer rclone && t+=("rclone_dir S3 $dataset rclone 'rclone copy (sftp, no hash check)' peer $dir")
    say "  dataset $dataset: $(files_of "$dir") files"
    rounds "${t[@]}"
  done
}

scenario_s6() {
  local dataset dir t remote
  site_start lo; site_use lo; tmf_warm_up
  CLIENT_OUT=$WORK/client; mkdir -p "$CLIENT_OUT"
  for dataset in files-64k files-1m; do
    dir=$DATA/$dataset/src
    remote=cmp/S6/$dataset
    "$TMF" push "$dir" "$S_TMF_URL/$remote/" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json >/dev/null ||
      die "could not push S6's $dataset to turbomft"
    t=()
    t+=("tmf_pull_dir S6 $dataset pull 'turbomft pull DIR' ref $dir $remote/src")
    if has_peer ssh; then
      t+=("scp_dir_down S6 $dataset scp 'scp -r (download)' peer $dir")
      t+=("sftp_dir_down S6 $dataset sftp 'sftp get -r (batch)' peer $dir")
    fi
    has_peer rsync && t+=("rsync_dir_down S6 $dataset rsync 'rsync -a over ssh (pull)' peer $dir")
    say "  dataset $dataset: $(files_of "$dir") files"
    rounds "${t[@]}"
  done
}

scenario_s4() {
  local f=$DATA/random.bin t=()
  site_start ns; site_use ns; tmf_warm_up
  t+=("s4_tool tmf push 'turbomft push (resumes)' ref $f")
  has_peer rsync && t+=("s4_tool rsync rsync-partial 'rsync --partial over ssh' peer $f")
  has_peer rclone && t+=("s4_tool rclone rclone 'rclone copyto (sftp)' peer $f")
  has_peer ssh && t+=("s4_tool scp scp 'scp (restarts)' peer $f")
  rounds "${t[@]}"
}

scenario_s5() {
  local f=$DATA/random.bin t=()
  site_start lo; site_use lo; tmf_warm_up
  CLIENT_OUT=$WORK/client; mkdir -p "$CLIENT_OUT"
  "$TMF" push "$f" "$S_TMF_URL/cmp/S5/random.bin" --pin "$S_TMF_PIN" --token-file "$S_TMF_TOKEN_FILE" --json >/dev/null ||
    die "could not push S5's source to turbomft"
  has_peer nginx && ln -f "$f" "$S_DIR/nginx/root/dl/random.bin"
  if has_baseline; then
    as_baseline "$TMF_BASELINE" push "$f" "https://$S_HOST:${SITE[$S_SITE.base_port]}/cmp/S5/random.bin" --pin "${SITE[$S_SITE.base_pin]}" \
      --token-file "$S_DIR/tmf-base/admin.token" --json >/dev/null || die "could not push S5's source to the baseline's turbomft"
    t+=("as_baseline tmf_pull S5 random pull-baseline 'turbomft pull, baseline build' turbomft $f cmp/S5/random.bin")
  fi
  t+=("tmf_pull S5 random pull 'turbomft pull' ref $f cmp/S5/random.bin")
  t+=("tmf_pull S5 random pull-sha256 'turbomft pull --verify sha256' turbomft $f cmp/S5/random.bin --verify sha256")
  if has_peer ssh; then
    t+=("scp_down S5 random scp 'scp (download)' peer $f")
    t+=("sftp_down S5 random sftp 'sftp get' peer $f")
  fi
  has_peer rsync && t+=("rsync_down S5 random rsync 'rsync over ssh (pull)' peer $f")
  has_peer rclone && t+=("rclone_down S5 random rclone 'rclone copyto (sftp, 4 streams)' peer $f")
  has_peer nginx && t+=("nginx_down S5 random nginx 'curl GET ← nginx' peer $f")
  rounds "${t[@]}"
  tmf_delete cmp/S5/random.bin
  if has_baseline; then as_baseline tmf_delete cmp/S5/random.bin; fi
}
