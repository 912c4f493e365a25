# Shared parts of the benchmarks (bench-read.sh, bench-write.sh, bench-meta.sh).
# Sourced, not run: `BENCH_NAME=bench-x; . scripts/bench-lib.sh`.
#
# Gives: log/die, the exit trap (unmounts what we mounted, stops only the PIDs we
# started, removes our scratch dir, runs bench_at_exit commands, stops a Samba
# of our own), now/mbps/secs/best/least, bench_server (reuse SMB_* or start one),
# bench_mount/bench_unmount and smbfuse_mount, smbc (smbclient with a timeout).
#
# Conventions: stdout carries only the report; progress goes to stderr. Every
# external step is bounded by `timeout`. Exit status 2 means a step failed.

: "${BENCH_NAME:=bench}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { log "error: $*"; exit 2; }

OWN_SMB_DIR=
CHILDREN=()      # PIDs we started and have not yet reaped
MOUNTS=()        # mount points we created
AT_EXIT=()       # extra commands for the exit trap (each run with eval)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smbfuse-bench-mnt.XXXXXX")

# bench_at_exit CMD: runs CMD (eval) on exit, before Samba is stopped.
bench_at_exit() { AT_EXIT+=("$1"); }

# mounted DIR: true while DIR is a mount point (from /proc/mounts, no extra tools).
mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

# stop_child PID: SIGTERM, wait up to 10 s, then SIGKILL. Only PIDs we started.
stop_child() {
  local pid=$1
  [ -n "$pid" ] || return 0
  forget_child "$pid"
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  log "pid $pid ignored SIGTERM; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# forget_child PID: drops PID from CHILDREN (it was reaped or is being stopped).
forget_child() {
  local keep=() p
  for p in "${CHILDREN[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  CHILDREN=("${keep[@]}")
}

bench_cleanup() {
  local rc=$? m p c
  for m in "${MOUNTS[@]}"; do
    if mounted "$m"; then timeout 10 fusermount -u "$m" 2>/dev/null || timeout 10 fusermount -uz "$m" 2>/dev/null || true; fi
  done
  for p in "${CHILDREN[@]}"; do stop_child "$p"; done
  for c in "${AT_EXIT[@]}"; do eval "$c" || true; done
  rm -f "$WORK"/*.log; rmdir "$WORK"/* "$WORK" 2>/dev/null || true
  if [ -n "$OWN_SMB_DIR" ]; then bash "$ROOT/scripts/samba-stop.sh" --keep "$OWN_SMB_DIR" || true; fi
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }
# mbps BYTES T0 T1: throughput in MB/s (10^6 bytes/s).
mbps() { awk -v b="$1" -v a="$2" -v z="$3" 'BEGIN { printf "%.0f", b / 1e6 / (z - a) }'; }
# secs T0 T1: elapsed seconds, 3 decimals.
secs() { awk -v a="$1" -v z="$2" 'BEGIN { printf "%.3f", z - a }'; }
# best A B: the larger number.  least A B: the smaller; an empty A counts as +inf.
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
least() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; fi; }
# ratio A B: A/B with 2 decimals ("-" when B is 0 or empty).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# dd_read FILE: MB/s of dd bs=1M reading FILE ($BYTES long) to /dev/null.
dd_read() {
  local t0 t1
  t0=$(now)
  timeout 300 dd if="$1" of=/dev/null bs=1M status=none || return 1
  t1=$(now)
  mbps "$BYTES" "$t0" "$t1"
}

# bench_server [DEFAULT_DIR]: uses the Samba described by SMB_PORT/SMB_SHARE_PATH/…
# when set; otherwise starts one in BENCH_DIR (default DEFAULT_DIR) and stops it
# on exit, keeping the dir so test data is made only once. Sets HOST USER_ PASS.
bench_server() {
  if [ -n "${SMB_PORT:-}" ] && [ -n "${SMB_SHARE_PATH:-}" ]; then
    log "using the running Samba on ${SMB_HOST:-127.0.0.1}:$SMB_PORT"
  else
    OWN_SMB_DIR=${BENCH_DIR:-${1:-/tmp/smbfuse-bench}}
    if [ -f "$OWN_SMB_DIR/smbd.pid" ] && kill -0 "$(cat "$OWN_SMB_DIR/smbd.pid")" 2>/dev/null; then
      local dir=$OWN_SMB_DIR; OWN_SMB_DIR=
      die "a server is already running in $dir; set SMB_* to use it or stop it"
    fi
    eval "$(timeout 600 bash "$ROOT/scripts/samba-start.sh" "$OWN_SMB_DIR")"
  fi
  HOST=${SMB_HOST:-127.0.0.1}
  USER_=${SMB_USER:-smbtest}
  PASS=${SMB_PASS:-smbtest-pass-1}
}

# smbc CMDS [TIMEOUT]: smbclient on //HOST/test running CMDS; output on stdout.
smbc() {
  timeout "${2:-300}" smbclient "//$HOST/test" -p "$SMB_PORT" -U "$USER_%$PASS" -c "$1"
}

# bench_mount NAME MNT CMD…: starts CMD in the background (its PID in BG_PID and
# CHILDREN) and waits up to 20 s for MNT to become a mount point; fails if CMD
# exits first.
bench_mount() {
  local name=$1 mnt=$2; shift 2
  mkdir -p "$mnt"
  MOUNTS+=("$mnt")
  "$@" </dev/null >"$WORK/$name.log" 2>&1 &
  BG_PID=$!
  CHILDREN+=("$BG_PID")
  for _ in $(seq 200); do
    mounted "$mnt" && return 0
    if ! kill -0 "$BG_PID" 2>/dev/null; then
      wait "$BG_PID" 2>/dev/null || true
      forget_child "$BG_PID"
      log "$name exited before mounting; its output:"; sed 's/^/  /' "$WORK/$name.log" >&2
      BG_PID=; return 1
    fi
    sleep 0.1
  done
  log "$name did not mount $mnt within 20 s; its output:"; sed 's/^/  /' "$WORK/$name.log" >&2
  return 1
}

# bench_unmount MNT PID: fusermount -u, then wait for / stop the process.
bench_unmount() {
  timeout 30 fusermount -u "$1" || { log "fusermount -u $1 failed; lazy unmount"; timeout 10 fusermount -uz "$1" || true; }
  stop_child "$2"
}

MAIN=${SMBFUSE_MAIN:-$ROOT/dist/src/main.js}

# smbfuse_mount NAME MNT [EXTRA_OPTS]: a fresh smbfuse mount of //HOST/test on MNT
# (options: port, credentials, EXTRA_OPTS, then SMBFUSE_OPTS). PID in BG_PID.
smbfuse_mount() {
  local name=$1 mnt=$2 extra=${3:-}
  [ -f "$MAIN" ] || { log "smbfuse: $MAIN is missing (build with: npx tsc -p .)"; return 1; }
  local opts="port=$SMB_PORT,username=$USER_,password=$PASS${extra:+,$extra}${SMBFUSE_OPTS:+,$SMBFUSE_OPTS}"
  bench_mount "$name" "$mnt" node "$MAIN" "//$HOST/test" "$mnt" -o "$opts" -f
}
