/**
 * What a name made through the mount (create, mkdir, rename's target, link,
 * symlink) must be before anything is sent for it.
 */
import { EILSEQ, EINVAL, ENAMETOOLONG } from './errno.js';
import { isHiddenName } from './hidden-names.js';
import { nameToSmb, normalizeName, type NameForm } from './path-map.js';

/** Longest name component, in UTF-16 code units (MaximumComponentNameLength). */
const MAX_NAME_UNITS = 255;

/**
 * The last component of `path`: ENAMETOOLONG if, in the form `form` it is
 * sent in (NFD can be longer), it is too long for the server; EINVAL for our
 * hidden names; EILSEQ for a name that is not UTF-8. The binding hands such
 * a name over with U+FFFD for each bad byte, so different names would become
 * one on the server (the second overwriting the first); a name with a real
 * U+FFFD cannot be told apart and is refused too.
 */
export function checkNewName(path: string, form: NameForm): void {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (isHiddenName(name)) throw -EINVAL;
  if (name.includes('\uFFFD')) throw -EILSEQ;
  if (nameToSmb(normalizeName(name, form)).length > MAX_NAME_UNITS) throw -ENAMETOOLONG;
}
