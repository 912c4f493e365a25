#!/bin/bash
# Another FUSE SMB client, mounted for `npm run bench -- --other`.
#
#   bash scripts/bench-peer.sh start smbnetfs|rclone DIR
#   bash scripts/bench-peer.sh stop DIR
#
# `start` runs a private Samba (scripts/samba-start.sh) in DIR/srv on
# 127.0.0.1:445 and mounts the peer on DIR/mnt, then prints the bench command
# that measures smbfuse, smbclient and the peer against that one server.
# Port 445 because smbnetfs (libsmbclient) has no setting for another port;
# so it needs root and nothing else on 445. rclone runs with its write cache
# (--vfs-cache-mode writes), as its documentation advises for editors and
# tools that write in place; its cache lives in DIR/rclone-cache.
# Neither client is installed here: `apt-get install smbnetfs rclone`.
# `stop` unmounts the peer, ends the process this script started (by its
# PID), stops the Samba and removes what `start` wrote in DIR. Every wait is
# bounded.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'bench-peer: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { die "usage: bench-peer.sh start smbnetfs|rclone DIR | stop DIR"; }

mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

start() {
  local peer=$1 dir=$2
  command -v "$peer" >/dev/null || die "$peer is not installed (apt-get install $peer)"
  mkdir -p "$dir/mnt"
  dir=$(cd "$dir" && pwd)
  [ -e "$dir/peer.pid" ] && die "$dir already holds a peer; stop it first"
  SMB_FORCE_PORT=445 bash "$ROOT/scripts/samba-start.sh" "$dir/srv" > "$dir/srv.env" || die "Samba did not start (see above)"
  set -a; . <(grep -E '^SMB_[A-Z_]+=' "$dir/srv.env"); set +a
  local path=$dir/mnt
  case $peer in
    smbnetfs)
      # smbnetfs reads $HOME/.smb: a home of its own keeps the user's untouched.
      mkdir -p "$dir/home/.smb"
      printf '[global]\n  client min protocol = SMB2\n' > "$dir/home/.smb/smb.conf"
      ( umask 077; printf 'auth "%s" "%s" "%s"\nhost %s visible=true\n' "$SMB_HOST" "$SMB_USER" "$SMB_PASS" "$SMB_HOST" > "$dir/home/.smb/smbnetfs.conf" )
      HOME=$dir/home setsid smbnetfs "$dir/mnt" -f > "$dir/peer.log" 2>&1 &
      path=$dir/mnt/$SMB_HOST/test
      ;;
    rclone)
      # The password goes through the environment (obscured, as rclone wants it), not the command line.
      RCLONE_SMB_PASS=$(rclone obscure "$SMB_PASS") setsid rclone mount :smb:test "$dir/mnt" \
        --smb-host "$SMB_HOST" --smb-port "$SMB_PORT" --smb-user "$SMB_USER" \
        --vfs-cache-mode writes --cache-dir "$dir/rclone-cache" > "$dir/peer.log" 2>&1 &
      ;;
    *) usage ;;
  esac
  echo $! > "$dir/peer.pid"
  for _ in $(seq 100); do mounted "$dir/mnt" && [ -d "$path" ] && break; sleep 0.1; done
  mounted "$dir/mnt" && [ -d "$path" ] || { log "$(tail -3 "$dir/peer.log")"; stop "$dir"; die "$peer did not mount $dir/mnt"; }
  log "$peer mounted on $dir/mnt (Samba on $SMB_HOST:$SMB_PORT, $dir/srv)"
  printf 'set -a; . <(grep -E "^SMB_[A-Z_]+=" %q); set +a; npm run bench -- --other %q\n' "$dir/srv.env" "$path"
}

stop() {
  local dir=$1
  if mounted "$dir/mnt"; then fusermount -u "$dir/mnt" 2>/dev/null || fusermount -uz "$dir/mnt" || true; fi
  if [ -f "$dir/peer.pid" ]; then
    local pid; pid=$(cat "$dir/peer.pid")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # Still there after its mount went: ask it to end (only the PID this script started).
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    rm -f "$dir/peer.pid"
  fi
  [ -d "$dir/srv" ] && bash "$ROOT/scripts/samba-stop.sh" "$dir/srv" || true
  # What start wrote there: the peer's password file and cache, the server's settings.
  if ! mounted "$dir/mnt"; then rm -rf "$dir/home" "$dir/rclone-cache" "$dir/srv.env" "$dir/peer.log"; fi
}

case ${1:-} in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
