/** open-slots.ts: slots by path, and the children of one directory without a scan. */
import t from 'tap';
import { OpenSlots } from '../../../src/open-slots.js';

t.test('childrenOf lists the open files directly in a directory, as they come and go', async (t) => {
  const o = new OpenSlots<number>();
  o.set('/a', 1).set('/d/x', 2).set('/d/y', 3).set('/d/e/z', 4);
  t.same([...o.childrenOf('/d')], [['/d/x', 2], ['/d/y', 3]], 'not the grandchild');
  t.same([...o.childrenOf('/')], [['/a', 1]]);
  t.same([...o.childrenOf('/none')], []);
  o.set('/d/x', 5);
  t.same([...o.childrenOf('/d')], [['/d/x', 5], ['/d/y', 3]], 'set again: replaced, not added');
  t.equal(o.delete('/d/x'), true);
  t.equal(o.delete('/d/x'), false, 'deleted once');
  t.same([...o.childrenOf('/d')], [['/d/y', 3]]);
  o.delete('/d/y');
  t.same([...o.childrenOf('/d')], []);
  t.equal(o.size, 2);
  t.same([...o].map(([p]) => p), ['/a', '/d/e/z'], 'iteration: every path');
  t.same([...o.values()], [1, 4]);
  t.equal(o.get('/d/e/z'), 4);
  t.equal(o.has('/d/x'), false);
});
