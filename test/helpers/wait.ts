/** Bounded waits for tests. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (at most `ms`, polling every 5 ms) until `ok()` holds; resolves to whether it did. */
export async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (ok()) return true;
    await sleep(5);
  }
  return ok();
}
