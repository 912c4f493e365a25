/**
 * The one line smbfuse prints when fuse-native cannot be loaded, for the
 * dynamic loader's messages (the e2e test can only make the library unusable,
 * not absent, on a machine that has it).
 */
import t from 'tap';
import { describeLoadError } from '../../../src/fuse-load.js';

t.equal(
  describeLoadError('libfuse.so.2: cannot open shared object file: No such file or directory'),
  'libfuse 2 is not installed (Debian/Ubuntu: apt-get install fuse)',
  'absent library',
);
t.equal(
  describeLoadError('/tmp/x/libfuse.so.2: file too short\n    at Module._extensions..node'),
  'libfuse 2 cannot be loaded (/tmp/x/libfuse.so.2: file too short); reinstall it (Debian/Ubuntu: apt-get install --reinstall libfuse2)',
  'a broken library, first line only',
);
t.equal(
  describeLoadError('No native build was found for platform=linux arch=riscv64'),
  'cannot load the FUSE binding (fuse-native): No native build was found for platform=linux arch=riscv64',
  'anything else names the binding',
);
