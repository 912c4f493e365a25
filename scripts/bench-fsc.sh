#!/usr/bin/env bash
# Disk cache (-o fsc) benchmark: one file read cold (from the server, filling
# the cache) and warm (a fresh mount reading it from the disk cache), beside
# the same file read from local disk and the FUSE binding's ceiling, on two
# links:
#   loopback   smbfuse straight to Samba on 127.0.0.1
#   1 Gbit/s   smbfuse through scripts/rate-relay.mjs pacing both directions
#              to 1000 Mbit/s (125 MB/s)
# Aims: loopback warm >= 0.9 x fuse-null; 1 Gbit/s warm >= 4 x cold.
#
# usage: scripts/bench-fsc.sh
#
# Every smbfuse measurement is `dd bs=1M` through a fresh mount (the kernel's
# and smbfuse's page caches are empty); "warm" mounts reuse the cache dir the
# cold mount filled. The local-disk row reads the share's file directly (it is
# in the page cache, as are the cache's data files, just written: both rows
# measure memory-speed "disk"). The cache directory is a fresh one per link.
# CPU is the smbfuse daemon's user+system seconds for the read (from /proc).
#
# Environment:
#   BENCH_SIZE_MB   size of the test file in MiB (default 256)
#   BENCH_DIR       Samba dir for a server of our own (default /tmp/smbfuse-bench)
#   SMBFUSE_OPTS    extra -o options for smbfuse
#   SMBFUSE_MAIN    the CLI to run (default dist/src/main.js)
#   RELAY_PORT      port of the rate relay (default: SMB_PORT + 1000)
# Exit status: 0 when both aims are met, 1 when not, 2 when a step failed.
set -euo pipefail
BENCH_NAME=bench-fsc
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
cd "$ROOT"

SIZE_MB=${BENCH_SIZE_MB:-256}
BYTES=$((SIZE_MB * 1024 * 1024))
CLK=$(getconf CLK_TCK)

bench_server /tmp/smbfuse-bench
BIG=$SMB_SHARE_PATH/fsc-big
if [ ! -f "$BIG" ] || [ "$(stat -c %s "$BIG")" -ne "$BYTES" ]; then
  log "creating $BIG ($SIZE_MB MiB from /dev/urandom)"
  timeout 300 dd if=/dev/urandom of="$BIG.tmp" bs=1M count="$SIZE_MB" status=none
  mv "$BIG.tmp" "$BIG"
fi
timeout 120 cat "$BIG" > /dev/null

CACHES=$(mktemp -d "${TMPDIR:-/tmp}/smbfuse-bench-fsc.XXXXXX")
bench_at_exit "rm -rf '$CACHES'"

# cpu PID: user+system seconds of PID so far.
cpu() { awk -v k="$CLK" '{ printf "%.2f", ($14 + $15) / k }' "/proc/$1/stat"; }


# fsc_read NAME PORT CACHE_DIR: mounts, reads fsc-big, unmounts; prints "MB/s cpu".
fsc_read() {
  local name=$1 port=$2 dir=$3 mnt=$WORK/$1 pid c0 r c1
  SMB_PORT=$port smbfuse_mount "$name" "$mnt" "fsc,cache_dir=$dir,fsc_size=$((2 * SIZE_MB + 64))M" || return 1
  pid=$BG_PID
  c0=$(cpu "$pid")
  r=$(dd_read "$mnt/fsc-big") || { bench_unmount "$mnt" "$pid"; return 1; }
  c1=$(cpu "$pid")
  bench_unmount "$mnt" "$pid"
  echo "$r $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')"
}

# --- ceiling and local disk ---------------------------------------------------
mnt=$WORK/null
bench_mount fuse-null "$mnt" node "$ROOT/scripts/fuse-null.mjs" "$mnt" --size "$BYTES" || die "fuse-null would not mount"
pid=$BG_PID
NULL=$(dd_read "$mnt/big") || die "dd through fuse-null failed"
bench_unmount "$mnt" "$pid"
LOCAL=$(dd_read "$BIG") || die "dd of the local file failed"
log "fuse-null $NULL MB/s, local file $LOCAL MB/s"

# --- loopback -----------------------------------------------------------------
read -r LO_COLD LO_COLD_CPU < <(fsc_read lo-cold "$SMB_PORT" "$CACHES/lo") || die "loopback cold read failed"
read -r LO_WARM LO_WARM_CPU < <(fsc_read lo-warm "$SMB_PORT" "$CACHES/lo") || die "loopback warm read failed"
log "loopback: cold $LO_COLD MB/s, warm $LO_WARM MB/s"

# --- 1 Gbit/s -----------------------------------------------------------------
RPORT=${RELAY_PORT:-$((SMB_PORT + 1000))}
node "$ROOT/scripts/rate-relay.mjs" "$RPORT" "$HOST" "$SMB_PORT" 1000 > "$WORK/relay.log" 2>&1 &
RELAY=$!
CHILDREN+=("$RELAY")
for _ in $(seq 50); do grep -q listening "$WORK/relay.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/relay.log" || die "rate relay did not start: $(cat "$WORK/relay.log")"
read -r G_COLD G_COLD_CPU < <(fsc_read g-cold "$RPORT" "$CACHES/g") || die "1 Gbit/s cold read failed"
read -r G_WARM G_WARM_CPU < <(fsc_read g-warm "$RPORT" "$CACHES/g") || die "1 Gbit/s warm read failed"
stop_child "$RELAY"
log "1 Gbit/s: cold $G_COLD MB/s, warm $G_WARM MB/s"

# --- report -------------------------------------------------------------------
echo "file: $SIZE_MB MiB; dd bs=1M through a fresh mount each time; MB/s = 10^6 bytes/s; cpu = daemon seconds"
printf '%-10s %-26s %8s %6s\n' link read MB/s cpu
printf '%-10s %-26s %8s %6s\n' - 'fuse-null (ceiling)' "$NULL" - - 'local file (page cache)' "$LOCAL" -
printf '%-10s %-26s %8s %6s\n' loopback 'cold (server, fills cache)' "$LO_COLD" "$LO_COLD_CPU" loopback 'warm (disk cache)' "$LO_WARM" "$LO_WARM_CPU"
printf '%-10s %-26s %8s %6s\n' '1 Gbit/s' 'cold (server, fills cache)' "$G_COLD" "$G_COLD_CPU" '1 Gbit/s' 'warm (disk cache)' "$G_WARM" "$G_WARM_CPU"
A1=$(ratio "$LO_WARM" "$NULL"); A2=$(ratio "$G_WARM" "$G_COLD")
ok=0
if awk -v r="$A1" 'BEGIN { exit !(r >= 0.9) }'; then echo "loopback warm / fuse-null = $A1 (aim >= 0.9): MET"; else echo "loopback warm / fuse-null = $A1 (aim >= 0.9): NOT MET"; ok=1; fi
if awk -v r="$A2" 'BEGIN { exit !(r >= 4) }'; then echo "1 Gbit/s warm / cold = $A2 (aim >= 4): MET"; else echo "1 Gbit/s warm / cold = $A2 (aim >= 4): NOT MET"; ok=1; fi
exit "$ok"
