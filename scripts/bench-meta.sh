#!/usr/bin/env bash
# Metadata benchmark: many small creates and a big directory listing, smbfuse
# against smbclient on the same server, measured in one run.
#
# usage: scripts/bench-meta.sh            (npm run bench:meta)
#
# (a) create: N files (default 2000) of 4 KiB each in a fresh directory.
#     smbfuse    one node process writes them through a fresh mount
#                (fs.writeFileSync per file: open O_CREAT|O_TRUNC, write, close),
#                timed inside the process (no node start-up in the figure)
#     local      the same node loop into a local dir (the source of the mput)
#     smbclient  `smbclient … -c 'mkdir D; cd D; lcd LOCAL; prompt; mput *'`,
#                wall time of the whole command (its connect and logon included;
#                the time of `-c 'pwd'` is reported alongside as that overhead)
#     Every file's presence and size is checked on the server side afterwards.
#     Aim: smbfuse under 2 s.
# (b) ls -l of a directory of M entries (default 10000), made once directly in
#     the share's dir on the server (kept across runs in BENCH_DIR).
#     cold       `ls -l MNT/D` on a fresh mount (mounted with actimeo=30)
#     warm       the same `ls -l` again right after, within actimeo
#     smbclient  `smbclient … -c 'cd D; ls'`, wall time (overhead as above)
#     local      `ls -l` of the share's dir itself on the server, for scale
#     fuse-null  cold and warm `ls -l` of a directory with the same names in a
#                do-nothing fuse-native filesystem (answers from memory, mounted
#                with entry_timeout=attr_timeout=30): the binding's floor for
#                one LOOKUP per entry (libfuse2's high-level API has no
#                READDIRPLUS)
#     Aims: cold under 0.3 s, warm under 0.1 s.
# All figures are seconds of wall time; ratios are smbfuse / peer (lower is better).
#
# Server: uses the one described by SMB_DIR/SMB_PORT/SMB_SHARE_PATH/… when they
# are set; otherwise starts one in BENCH_DIR (default /tmp/smbfuse-bench-meta)
# and stops it on exit.
#
# Environment:
#   BENCH_FILES     files created in (a) (default 2000)
#   BENCH_ENTRIES   entries of the directory listed in (b) (default 10000)
#   BENCH_REPEAT    measure each case N times and keep the best (default 1)
#   BENCH_DIR       Samba dir for a server of our own (default /tmp/smbfuse-bench-meta)
#   SMBFUSE_OPTS    extra -o options for smbfuse (appended after a comma)
#   SMBFUSE_MAIN    the CLI to run (default dist/src/main.js)
# Exit status: 0 when all aims are met, 1 when not, 2 when a step failed.
set -euo pipefail
BENCH_NAME=bench-meta
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
cd "$ROOT"

FILES=${BENCH_FILES:-2000}
ENTRIES=${BENCH_ENTRIES:-10000}
REPEAT=${BENCH_REPEAT:-1}
FSIZE=4096
AIM_CREATE=2
AIM_COLD=0.3
AIM_WARM=0.1

# --- server ---------------------------------------------------------------------
bench_server /tmp/smbfuse-bench-meta
SHARE=$SMB_SHARE_PATH

# create_files DIR: writes FILES files of FSIZE random bytes into DIR (must exist)
# from one node process; prints the seconds the loop took.
create_files() {
  timeout 300 node -e '
    const fs = require("node:fs");
    const { randomBytes } = require("node:crypto");
    const [dir, n, size] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
    const data = randomBytes(n * size);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      fs.writeFileSync(`${dir}/f${String(i).padStart(5, "0")}`, data.subarray(i * size, (i + 1) * size));
    }
    const t1 = process.hrtime.bigint();
    console.log((Number(t1 - t0) / 1e9).toFixed(3));' "$1" "$FILES" "$FSIZE"
}

# check_files DIR WHO: fails (exit 2) unless DIR on the server holds FILES files of FSIZE bytes.
check_files() {
  local n bad
  n=$(find "$1" -maxdepth 1 -type f -name 'f*' | wc -l)
  bad=$(find "$1" -maxdepth 1 -type f -name 'f*' ! -size "${FSIZE}c" | wc -l)
  [ "$n" -eq "$FILES" ] && [ "$bad" -eq 0 ] ||
    die "$2: the server holds $n files in $1 ($bad of a wrong size), expected $FILES of $FSIZE bytes"
  log "$2: $n files of $FSIZE bytes on the server: ok"
}

# timed CMD…: runs CMD (stdout to /dev/null) and prints its wall time in seconds.
timed() {
  local t0 t1
  t0=$(now)
  "$@" >/dev/null || return 1
  t1=$(now)
  secs "$t0" "$t1"
}

# smbclient's fixed cost (process start, negotiate, session setup, tree connect).
SMBC_BASE=
for _ in $(seq "$REPEAT"); do
  r=$(timed smbc 'pwd' 60) || die "smbclient pwd failed"
  SMBC_BASE=$(least "$SMBC_BASE" "$r")
done
log "smbclient connect+logon+pwd: $SMBC_BASE s"

# --- (a) create -------------------------------------------------------------------------
SRC=$WORK/src
bench_at_exit 'rm -rf "$SRC"'
bench_at_exit 'rm -rf "$SHARE"/bench-meta-create-*'
LOCAL_CREATE=
for i in $(seq "$REPEAT"); do
  rm -rf "$SRC"; mkdir "$SRC"
  r=$(create_files "$SRC") || die "local create failed"
  LOCAL_CREATE=$(least "$LOCAL_CREATE" "$r")
done
log "local create ($WORK): $LOCAL_CREATE s"

SMBC_CREATE=
for i in $(seq "$REPEAT"); do
  d=bench-meta-create-smbclient$i
  rm -rf "${SHARE:?}/$d"
  # smbclient reports every file put on stderr: keep it out of the way.
  r=$(timed smbc "mkdir $d; cd $d; lcd $SRC; prompt; mput *" 2>"$WORK/mput.log") ||
    { tail -n 20 "$WORK/mput.log" >&2; die "smbclient mput failed"; }
  rm -f "$WORK/mput.log"
  check_files "$SHARE/$d" smbclient
  rm -rf "${SHARE:?}/$d"
  SMBC_CREATE=$(least "$SMBC_CREATE" "$r")
done
log "smbclient mput: $SMBC_CREATE s"

FUSE_CREATE=
FUSE_OK=1
for i in $(seq "$REPEAT"); do
  d=bench-meta-create-smbfuse$i
  rm -rf "${SHARE:?}/$d"
  mnt=$WORK/create$i
  smbfuse_mount smbfuse "$mnt" || { FUSE_OK=; break; }
  pid=$BG_PID
  if ! mkdir "$mnt/$d" || ! r=$(create_files "$mnt/$d"); then
    log "create through smbfuse failed; smbfuse's output:"; sed 's/^/  /' "$WORK/smbfuse.log" >&2
    FUSE_OK=
  else
    # Every file was closed: the server must hold all of them now, before unmount.
    check_files "$SHARE/$d" smbfuse
    FUSE_CREATE=$(least "$FUSE_CREATE" "$r")
  fi
  bench_unmount "$mnt" "$pid"
  rm -rf "${SHARE:?}/$d"
  [ -n "$FUSE_OK" ] || break
done
[ -n "$FUSE_OK" ] && log "smbfuse create: $FUSE_CREATE s"

# --- (b) ls -l ----------------------------------------------------------------------------
BIGDIR=bench-meta-ls$ENTRIES
if [ ! -d "$SHARE/$BIGDIR" ] || [ "$(find "$SHARE/$BIGDIR" -maxdepth 1 -type f | wc -l)" -ne "$ENTRIES" ]; then
  log "creating $SHARE/$BIGDIR with $ENTRIES files on the server side"
  rm -rf "${SHARE:?}/$BIGDIR" "${SHARE:?}/$BIGDIR.tmp"
  mkdir "$SHARE/$BIGDIR.tmp"
  (cd "$SHARE/$BIGDIR.tmp" && seq -f 'entry-%05g.txt' "$ENTRIES" | timeout 120 xargs touch)
  mv "$SHARE/$BIGDIR.tmp" "$SHARE/$BIGDIR"
fi
timeout 60 ls -l "$SHARE/$BIGDIR" >/dev/null   # server-side inode/dentry caches warm

LOCAL_LS=
SMBC_LS=
for _ in $(seq "$REPEAT"); do
  r=$(timed timeout 60 ls -l "$SHARE/$BIGDIR") || die "local ls failed"
  LOCAL_LS=$(least "$LOCAL_LS" "$r")
  out=$WORK/smbc-ls.log
  t0=$(now); smbc "cd $BIGDIR; ls" 120 >"$out" || die "smbclient ls failed"; t1=$(now)
  n=$(grep -c 'entry-' "$out" || true)
  [ "$n" -eq "$ENTRIES" ] || die "smbclient ls listed $n entries, expected $ENTRIES"
  SMBC_LS=$(least "$SMBC_LS" "$(secs "$t0" "$t1")")
  rm -f "$out"
done
log "smbclient ls: $SMBC_LS s; local ls -l: $LOCAL_LS s"

COLD=
WARM=
for i in $(seq "$REPEAT"); do
  [ -n "$FUSE_OK" ] || break
  mnt=$WORK/ls$i
  smbfuse_mount smbfuse "$mnt" actimeo=30 || { FUSE_OK=; break; }
  pid=$BG_PID
  out=$WORK/fuse-ls.log
  for pass in cold warm; do
    t0=$(now)
    if ! timeout 120 ls -l "$mnt/$BIGDIR" >"$out"; then
      log "ls -l through smbfuse ($pass) failed; smbfuse's output:"; sed 's/^/  /' "$WORK/smbfuse.log" >&2
      FUSE_OK=; break
    fi
    t1=$(now)
    n=$(grep -c 'entry-' "$out" || true)
    [ "$n" -eq "$ENTRIES" ] || { log "smbfuse ls -l ($pass) listed $n entries, expected $ENTRIES"; FUSE_OK=; break; }
    if [ "$pass" = cold ]; then COLD=$(least "$COLD" "$(secs "$t0" "$t1")"); else WARM=$(least "$WARM" "$(secs "$t0" "$t1")"); fi
  done
  rm -f "$out"
  bench_unmount "$mnt" "$pid"
done
[ -n "$FUSE_OK" ] && log "smbfuse ls -l: cold $COLD s, warm $WARM s"

# fuse-null for listings: the same names served from memory (scripts/fuse-null.mjs --entries).
NULL_COLD=
NULL_WARM=
for i in $(seq "$REPEAT"); do
  mnt=$WORK/lsnull$i
  bench_mount fuse-null-ls "$mnt" node "$ROOT/scripts/fuse-null.mjs" "$mnt" --size 0 --entries "$ENTRIES" --cache-secs 30 ||
    die "fuse-null-ls would not mount"
  pid=$BG_PID
  r=$(timed timeout 120 ls -l "$mnt/dir") || die "ls -l through fuse-null-ls failed"
  NULL_COLD=$(least "$NULL_COLD" "$r")
  r=$(timed timeout 120 ls -l "$mnt/dir") || die "ls -l through fuse-null-ls failed"
  NULL_WARM=$(least "$NULL_WARM" "$r")
  bench_unmount "$mnt" "$pid"
done
log "fuse-null ls -l: cold $NULL_COLD s, warm $NULL_WARM s"

# --- report -------------------------------------------------------------------------
echo "meta: best of $REPEAT; seconds of wall time; ratio = smbfuse / peer"
echo "smbclient fixed cost (connect, logon, 'pwd'): $SMBC_BASE s, included in its figures below"
MET=1
# row LABEL SMBFUSE PEER_LABEL PEER AIM: prints one comparison and whether the aim is met.
row() {
  local verdict
  if [ -z "$2" ]; then
    verdict="NOT MEASURED"; MET=
  elif awk -v v="$2" -v a="$5" 'BEGIN { exit !(v < a) }'; then
    verdict="MET"
  else
    verdict="NOT MET"; MET=
  fi
  printf '%-24s smbfuse %7s s | %-20s %7s s | ratio %5s | aim < %s s: %s\n' \
    "$1" "${2:-FAILED}" "$3" "$4" "$(ratio "$2" "$4")" "$5" "$verdict"
}
row "create $FILES x 4 KiB" "$FUSE_CREATE" "smbclient mput" "$SMBC_CREATE" "$AIM_CREATE"
printf '%-24s %17s | %-20s %7s s | ratio %5s\n' "" "" "local disk (node)" "$LOCAL_CREATE" "$(ratio "$FUSE_CREATE" "$LOCAL_CREATE")"
row "ls -l $ENTRIES cold" "$COLD" "smbclient ls" "$SMBC_LS" "$AIM_COLD"
row "ls -l $ENTRIES warm" "$WARM" "smbclient ls" "$SMBC_LS" "$AIM_WARM"
printf '%-24s %17s | %-20s %7s s | ratio %5s (cold)\n' "" "" "local ls -l" "$LOCAL_LS" "$(ratio "$COLD" "$LOCAL_LS")"
printf '%-24s %17s | %-20s %7s s | ratio %5s\n' "" "" "fuse-null cold" "$NULL_COLD" "$(ratio "$COLD" "$NULL_COLD")"
printf '%-24s %17s | %-20s %7s s | ratio %5s\n' "" "" "fuse-null warm" "$NULL_WARM" "$(ratio "$WARM" "$NULL_WARM")"
[ -n "$FUSE_OK" ] || exit 2
[ -n "$MET" ] && exit 0
exit 1
