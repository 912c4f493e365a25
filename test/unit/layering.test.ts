/**
 * The dependency rule of DESIGN.md, checked on the sources: netfs/ imports
 * nothing from transport/ or src/; transport/ imports nothing from src/ and,
 * from netfs/, only the chain type (netfs/bvecq); neither loads fuse-native.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers a file imports (static and dynamic), resolved to repo-relative paths where relative. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? path.relative(root, path.resolve(path.dirname(file), s)) : s));
}

t.test('netfs knows no SMB, no FUSE and no filesystem', async (t) => {
  for (const f of sources(path.join(root, 'netfs'))) {
    for (const i of imports(f)) {
      t.notOk(/^(transport|src)\//.test(i) || i === 'fuse-native', `${path.relative(root, f)} imports ${i}`);
    }
  }
});

t.test('transport takes only the chain type from netfs, and nothing from src or FUSE', async (t) => {
  for (const f of sources(path.join(root, 'transport'))) {
    for (const i of imports(f)) {
      const bad = i.startsWith('src/') || i === 'fuse-native' || (i.startsWith('netfs/') && i !== 'netfs/bvecq.js');
      t.notOk(bad, `${path.relative(root, f)} imports ${i}`);
    }
  }
});
