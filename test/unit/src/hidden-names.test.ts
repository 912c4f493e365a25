/** The hidden names of silly-renamed files, and how the filesystem keeps them out of sight. */
import t from 'tap';
import { hiddenName, isHiddenName, isLibfuseHiddenName } from '../../../src/hidden-names.js';

t.test('hidden names: ours only', async (t) => {
  const n = hiddenName();
  t.match(n, /^\.smbfuse-deleted-[0-9a-f]{16}$/);
  t.not(hiddenName(), n, 'fresh each time');
  t.ok(isHiddenName(n));
  t.ok(isHiddenName(`/some/dir/${n}`), 'last component of a path');
  t.notOk(isHiddenName('.smbfuse-deleted-notours'), 'a look-alike is a user file');
  t.notOk(isHiddenName('.smbfuse-deleted-0123456789ABCDEF'), 'upper-case hex is not ours');
  t.notOk(isHiddenName(`/${n}/child`), 'only the last component counts');
  t.ok(isHiddenName('.fuse_hidden0000000100000001'), "libfuse's hidden names too");
  t.ok(isLibfuseHiddenName('/d/.fuse_hidden0000000100000001'));
  t.notOk(isLibfuseHiddenName(n));
  t.notOk(isHiddenName('.fuse_hidden01'), 'not the whole form');
});
