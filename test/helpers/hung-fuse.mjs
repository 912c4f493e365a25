#!/usr/bin/env node
// A FUSE file system that never answers a getattr: a stat of its mount point
// waits until this process is killed (a FUSE request yields to a fatal
// signal). It stands for a hung file system mounted over a path smbfuse
// used. usage: node hung-fuse.mjs MOUNTPOINT; prints "hung-fuse: mounted"
// once the mount is live. Its mount is left for the caller to take down.
import Fuse from 'fuse-native';

const mnt = process.argv[2];
if (!mnt) {
  console.error('usage: node hung-fuse.mjs MOUNTPOINT');
  process.exit(2);
}
const fuse = new Fuse(mnt, { getattr() {} }, { fsname: 'hung-fuse', timeout: false });
fuse.mount((err) => {
  if (err) {
    console.error(`hung-fuse: mount failed: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write('hung-fuse: mounted\n');
});
