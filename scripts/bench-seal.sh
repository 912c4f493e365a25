#!/usr/bin/env bash
# Throughput cost of `seal` (SMB 3.1.1 encryption), measured side by side in one
# run against the same Samba server.
#
# usage: scripts/bench-seal.sh
#
# For each of three configurations, on a fresh mount of //127.0.0.1/test with
# vers=3.1.1:
#   plain        no encryption
#   aes-128-gcm  -o seal, the client offering only AES-128-GCM
#   aes-256-gcm  -o seal, the client offering only AES-256-GCM
# (the cipher is chosen through the test-only SMBFUSE_TEST_CIPHERS, so one
# server serves all three), it measures
#   write  dd if=/dev/zero of=MNT/f bs=1M count=N conv=fsync   (size checked on the server)
#   read   dd if=MNT/r of=/dev/null bs=1M, r made on the server side beforehand,
#          on a mount that has never read it (cold client cache)
# and prints MB/s (10^6 bytes/s, wall time of the dd) and each sealed figure as
# a ratio of plain.
#
# Server: the one described by SMB_DIR/SMB_PORT/SMB_SHARE_PATH/… when set;
# otherwise one of our own in BENCH_DIR (default /tmp/smbfuse-bench-seal),
# stopped on exit. Files on the share are removed on exit.
#
# Environment:
#   BENCH_SIZE_MB   MiB read and written (default 512)
#   BENCH_REPEAT    measure each case N times, keep the best (default 1)
#   SMBFUSE_OPTS    extra -o options for smbfuse
#   SMBFUSE_MAIN    the CLI (default dist/src/main.js; build with npx tsc -p .)
# Exit status: 0 when every measurement ran, 2 when a step failed.
set -euo pipefail
BENCH_NAME=bench-seal
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
cd "$ROOT"

SIZE_MB=${BENCH_SIZE_MB:-512}
REPEAT=${BENCH_REPEAT:-1}
BYTES=$((SIZE_MB * 1024 * 1024))

bench_server /tmp/smbfuse-bench-seal
SRV_W=$SMB_SHARE_PATH/bench-seal-w
SRV_R=$SMB_SHARE_PATH/bench-seal-r
bench_at_exit 'rm -f "$SRV_W" "$SRV_R"'

log "creating the read file on the server ($SIZE_MB MiB of random data)"
timeout 300 head -c "$BYTES" /dev/urandom > "$SRV_R"
chmod 0666 "$SRV_R"

# run_case NAME CIPHERS EXTRA_OPTS: sets W and R (MB/s, best of REPEAT).
run_case() {
  local name=$1 ciphers=$2 extra=$3 i mnt pid t0 t1 got
  W=0; R=0
  for i in $(seq "$REPEAT"); do
    # write, on a fresh mount
    rm -f "$SRV_W"
    mnt=$WORK/$name-w$i
    if [ -n "$ciphers" ]; then export SMBFUSE_TEST_CIPHERS=$ciphers; else unset SMBFUSE_TEST_CIPHERS; fi
    smbfuse_mount "$name" "$mnt" "$extra" || die "$name: mount failed"
    pid=$BG_PID
    t0=$(now)
    timeout 600 dd if=/dev/zero of="$mnt/bench-seal-w" bs=1M count="$SIZE_MB" conv=fsync status=none ||
      { sed 's/^/  /' "$WORK/$name.log" >&2; die "$name: dd write failed"; }
    t1=$(now)
    W=$(best "$W" "$(mbps "$BYTES" "$t0" "$t1")")
    got=$(stat -c %s "$SRV_W")
    [ "$got" -eq "$BYTES" ] || die "$name: server file has $got bytes, expected $BYTES"
    bench_unmount "$mnt" "$pid"
    # read, on another fresh mount (nothing cached)
    mnt=$WORK/$name-r$i
    smbfuse_mount "$name" "$mnt" "$extra" || die "$name: mount failed"
    pid=$BG_PID
    t0=$(now)
    timeout 600 dd if="$mnt/bench-seal-r" of=/dev/null bs=1M status=none ||
      { sed 's/^/  /' "$WORK/$name.log" >&2; die "$name: dd read failed"; }
    t1=$(now)
    R=$(best "$R" "$(mbps "$BYTES" "$t0" "$t1")")
    bench_unmount "$mnt" "$pid"
  done
  unset SMBFUSE_TEST_CIPHERS
  log "$name: write $W MB/s, read $R MB/s"
}

run_case plain "" "vers=3.1.1"
PW=$W; PR=$R
run_case aes-128-gcm aes-128-gcm "vers=3.1.1,seal"
GW=$W; GR=$R
run_case aes-256-gcm aes-256-gcm "vers=3.1.1,seal"
HW=$W; HR=$R

echo "seal: $SIZE_MB MiB, best of $REPEAT, vers=3.1.1, fresh mount per measurement; dd bs=1M (write with conv=fsync)"
printf '%-12s %10s %8s %10s %8s\n' case 'write MB/s' ratio 'read MB/s' ratio
printf '%-12s %10s %8s %10s %8s\n' plain "$PW" 1.00 "$PR" 1.00
printf '%-12s %10s %8s %10s %8s\n' aes-128-gcm "$GW" "$(ratio "$GW" "$PW")" "$GR" "$(ratio "$GR" "$PR")"
printf '%-12s %10s %8s %10s %8s\n' aes-256-gcm "$HW" "$(ratio "$HW" "$PW")" "$HR" "$(ratio "$HR" "$PR")"
