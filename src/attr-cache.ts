/**
 * Attribute and directory caches with a time limit (actimeo).
 *
 * - attributes: path → stat, valid for `ttlMs`;
 * - negative entries: path → "does not exist" (ENOENT), also for `ttlMs`;
 * - directory listings: path → names, each child's stat entered into the
 *   attribute cache from the same listing (one QUERY_DIRECTORY fills both).
 *
 * Keys are FUSE paths ('/a/b'). Invalidation by prefix drops a path and
 * everything below it. Entries are bounded in number (oldest dropped first);
 * a ttl of 0 disables caching.
 *
 * A listing that expired is remembered by its size (lapsed): lookups of
 * names in that directory then count as misses, and once they cost more
 * round trips than listing it again would (relistDue), the caller lists it
 * afresh instead of asking per name (a create loop or `rm -rf` outliving
 * actimeo). Nothing stale is served: a lapsed listing answers no lookup.
 * A listing in flight while this mount changes names in the directory
 * (beginListing) is not cached, so it cannot bring back a name removed or
 * hide one added meanwhile.
 *
 * A directory never listed here in which lookups keep finding names (a
 * `sha256sum -c`, a build reading a tree it did not list) is peeked at: once
 * PEEK_AFTER_FOUND lookups in it found a name within a ttl (peekDue), the
 * caller lists it and enters each child's attributes (setListed), as if
 * each had been looked up then. No listing is kept: a name it did not show
 * is still asked of the server, so a name another client creates is found
 * at once as before.
 *
 * A directory never listed here in which lookups keep missing (a create
 * loop or `cp -r` into a directory this mount did not list) is listed once
 * LIST_AFTER_MISSES lookups in it found nothing within a ttl (listDue), and
 * that listing is kept like a readdir's: the next absent names need no round
 * trip until it expires, and relistDue takes over from there. On Samba a
 * miss is no cheaper than listing a few hundred names: it scans the
 * directory for a name differing only in case.
 *
 * A directory whose names this mount changes keeps its entry with its times
 * moved to the change (movedTimes), for the rest of its ttl: `opendir`
 * (glibc fstats the new descriptor) and path walks after each create or
 * unlink then need no round trip (dbench does one per operation). Without
 * movedTimes the entry goes and only its identity stays (identity()).
 */
import { ASCII_NAME } from './path-map.js';

type Entry<T> = { expires: number; stat: T | null };

/** A cached listing: exact names in server order; folded form → the names that fold to it. */
/**
 * A cached listing: exact names in server order, each with its child's path
 * once asked for (the same string every time: its hash is computed once, not
 * per lookup of a listing served again); folded form → the names that fold to it.
 */
type Listing = { expires: number; names: Map<string, string | null>; folded: Map<string, string[]> };

/** A listing on its way from the server; `stale` once a name in the directory changed meanwhile. */
export interface ListingTicket {
  dir: string;
  stale: boolean;
}

/**
 * Lookups a lapsed listing takes before listing it again pays: one per this
 * many names (a listing reply carries many entries per round trip). Up to
 * that many names the first lookup lists it: one round trip either way, and
 * on Samba a miss scans the directory as a listing does, so the lookups
 * that follow it within actimeo (git's object, temporary and link names in
 * one .git/objects/xx) cost nothing.
 */
const RELIST_NAMES_PER_MISS = 32;
/** Most lapsed listings remembered. */
const MAX_LAPSED = 1024;
/** Lookups that found a name in a directory never listed here before it is peeked at (peekDue). */
export const PEEK_AFTER_FOUND = 4;
/** Lookups that found nothing in a directory never listed here before it is listed (listDue). */
export const LIST_AFTER_MISSES = 8;
/** Most directories whose found or missed lookups (or too many names to peek at) are remembered. */
const MAX_PEEK_DIRS = 1024;

/** Lookups counted in a directory within one ttl of the first (foundByLookup, missedByLookup). */
type LookupCount = { count: number; since: number };

/** A hit carries its expiry (the clock of `now`). */
export type AttrLookup<T> = { kind: 'hit'; stat: T; expires: number } | { kind: 'negative' } | undefined;

export interface AttrCacheOptions<T = unknown> {
  ttlMs: number;
  /** Most attribute entries kept (default 100 000). */
  maxEntries?: number;
  /** Clock in ms (tests substitute it). */
  now?: () => number;
  /** The file id of a stat (0n: none), for invalidateFile(). */
  idOf?: (stat: T) => bigint;
  /**
   * A directory's stat after this mount added or removed a name in it at
   * `nowMs` (its modification and change times moved); without it such a
   * change drops the directory's attributes.
   */
  movedTimes?: (stat: T, nowMs: number) => T;
  /**
   * Called whenever a live entry's value changes or an entry goes before
   * its time (attr-epoch.ts): not when one expires, nor when a fresh stat
   * equal to the live one (`same`) replaces it.
   */
  onChange?: () => void;
  /** Whether two stats are the same (default: never), so refreshing an entry with its own value is no change. */
  same?: (a: T, b: T) => boolean;
}

export class AttrCache<T> {
  private readonly attrs = new Map<string, Entry<T>>();
  /**
   * Listings: names in server order, and by their folded form (SMB's
   * case-insensitive lookups), so a name added or removed costs O(1).
   */
  private readonly dirs = new Map<string, Listing>();
  /**
   * Directories whose attributes a change of their names dropped (their
   * times moved): the last stat, still good for what such a change leaves
   * alone — the file id and the type (see identity()).
   */
  private readonly identities = new Map<string, Entry<T>>();
  /**
   * Stats an exact invalidation dropped (lastDropped), until they would
   * have expired: a caller that knows the file is still the same one and
   * what changed (a file written here under a lease) may build on them.
   */
  private readonly dropped = new Map<string, Entry<T>>();
  /** Expired listings: their size, and lookups in them since (relistDue). */
  private readonly lapsed = new Map<string, { size: number; misses: number }>();
  /** Directories never listed here: lookups that found a name since `since` (peekDue). */
  private readonly found = new Map<string, LookupCount>();
  /** Directories never listed here: lookups that found nothing since `since` (listDue). */
  private readonly missed = new Map<string, LookupCount>();
  /** Directories a capped listing showed to hold more names than it lists, or could not list: not peeked at or listed for misses again. */
  private readonly unpeekable = new Set<string>();
  /** Listings in flight, by directory (beginListing). */
  private readonly listing = new Map<string, Set<ListingTicket>>();
  /** Attribute entries by file id (idOf), so the names of one file are found without a scan. */
  private readonly byId = new Map<bigint, Set<string>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly idOf: ((stat: T) => bigint) | undefined;
  private readonly movedTimes: ((stat: T, nowMs: number) => T) | undefined;
  private readonly onChange: () => void;
  private readonly same: (a: T, b: T) => boolean;

  constructor(opts: AttrCacheOptions<T>) {
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
    this.idOf = opts.idOf;
    this.movedTimes = opts.movedTimes;
    this.onChange = opts.onChange ?? (() => {});
    this.same = opts.same ?? (() => false);
  }

  /** A live entry for `path`: its stat, a cached ENOENT, or undefined. */
  get(path: string): AttrLookup<T> {
    const e = this.attrs.get(path);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.remove(path);
      return undefined;
    }
    return e.stat === null ? { kind: 'negative' } : { kind: 'hit', stat: e.stat, expires: e.expires };
  }

  /**
   * A live stat of `path`, or the last one of a directory whose entry was
   * dropped only because names in it changed: enough for its file id and
   * type (a readdir's '.' and '..'), not for its times.
   */
  identity(path: string): T | undefined {
    const c = this.get(path);
    if (c?.kind === 'hit') return c.stat;
    const e = this.identities.get(path);
    if (!e) return undefined;
    if (e.expires > this.now()) return e.stat ?? undefined;
    this.identities.delete(path);
    return undefined;
  }

  /**
   * The stat an exact invalidation of `path` dropped, while it would still
   * be live; not after a fresh stat, a negative entry or a wider invalidation.
   * Its times and size are as they were before the change.
   */
  lastDropped(path: string): T | undefined {
    const e = this.dropped.get(path);
    if (!e) return undefined;
    if (e.expires > this.now()) return e.stat ?? undefined;
    this.dropped.delete(path);
    return undefined;
  }

  /** Remember `path`'s attributes. */
  set(path: string, stat: T): void {
    this.put(path, stat);
  }

  /** Remember that `path` does not exist. */
  setNegative(path: string): void {
    this.put(path, null);
  }

  /** Cached listing of directory `path` (names without '.' and '..'). */
  getDir(path: string): string[] | undefined {
    const d = this.liveDir(path);
    return d && [...d.names.keys()];
  }

  /** getDir with each name's path (`childPath` joins the directory and a name), kept for the next call. */
  getDirPaths(path: string, childPath: (dir: string, name: string) => string): { name: string; path: string }[] | undefined {
    const d = this.liveDir(path);
    if (!d) return undefined;
    const out: { name: string; path: string }[] = [];
    for (const [name, known] of d.names) {
      let p = known;
      if (p === null) d.names.set(name, (p = childPath(path, name)));
      out.push({ name, path: p });
    }
    return out;
  }

  /** Whether a live listing of `path` is cached. */
  hasDir(path: string): boolean {
    return this.liveDir(path) !== undefined;
  }

  /** The live listing of `path`; an expired one is dropped and remembered as lapsed. */
  private liveDir(path: string): Listing | undefined {
    const d = this.dirs.get(path);
    if (!d) return undefined;
    if (d.expires <= this.now()) {
      this.dirs.delete(path);
      this.lapsed.set(path, { size: d.names.size, misses: 0 });
      if (this.lapsed.size > MAX_LAPSED) this.lapsed.delete(this.lapsed.keys().next().value!);
      return undefined;
    }
    return d;
  }

  /**
   * A lookup in `dir` found no live entry and no live listing: whether
   * listing `dir` again now costs less than the lookups its lapsed listing
   * has seen since it expired (counting this one). False for a directory
   * without a lapsed listing.
   */
  relistDue(dir: string): boolean {
    const l = this.lapsed.get(dir);
    if (!l) return false;
    if (++l.misses < Math.ceil(l.size / RELIST_NAMES_PER_MISS)) return false;
    l.misses = 0;
    return true;
  }

  /**
   * A lookup in `dir` reached the server and found a name. Counted only
   * for a directory with neither a live nor a lapsed listing (those have
   * relistDue), within one ttl of the first.
   */
  foundByLookup(dir: string): void {
    this.countLookup(this.found, dir);
  }

  /** A lookup in `dir` reached the server and found nothing: counted as foundByLookup counts. */
  missedByLookup(dir: string): void {
    this.countLookup(this.missed, dir);
  }

  /**
   * A lookup in `dir` found nothing cached: whether PEEK_AFTER_FOUND lookups
   * there found a name within the last ttl, so a peek (one listing, setListed)
   * likely answers the next ones. Counting starts again after a true.
   */
  peekDue(dir: string): boolean {
    return this.countDue(this.found, dir, PEEK_AFTER_FOUND);
  }

  /**
   * A lookup in `dir` found nothing cached: whether LIST_AFTER_MISSES
   * lookups there found nothing within the last ttl, so a listing kept as
   * the directory's (setDir) likely answers the next ones. Counting starts
   * again after a true.
   */
  listDue(dir: string): boolean {
    return this.countDue(this.missed, dir, LIST_AFTER_MISSES);
  }

  private countLookup(counts: Map<string, LookupCount>, dir: string): void {
    if (this.ttlMs <= 0 || this.unpeekable.has(dir) || this.dirs.has(dir) || this.lapsed.has(dir)) return;
    const now = this.now();
    const f = counts.get(dir);
    if (f && now - f.since < this.ttlMs) {
      f.count++;
      return;
    }
    counts.delete(dir);
    counts.set(dir, { count: 1, since: now });
    if (counts.size > MAX_PEEK_DIRS) counts.delete(counts.keys().next().value!);
  }

  private countDue(counts: Map<string, LookupCount>, dir: string, min: number): boolean {
    const f = counts.get(dir);
    if (!f || f.count < min) return false;
    counts.delete(dir);
    return this.now() - f.since < this.ttlMs && !this.dirs.has(dir) && !this.unpeekable.has(dir);
  }

  /** A capped listing of `dir` did not show all of its names, or failed: do not peek at it or list it for misses again. */
  stopPeeking(dir: string): void {
    this.unpeekable.add(dir);
    if (this.unpeekable.size > MAX_PEEK_DIRS) this.unpeekable.delete(this.unpeekable.keys().next().value!);
  }

  /**
   * Enter the attributes of the children a peek at `dir` showed, each as a
   * lookup of it would have (no listing is kept, see the top); nothing if
   * names in `dir` changed here while the peek was on its way. A child with
   * a live entry, or whose entry a change made here dropped (lastDropped),
   * keeps what it has: that is at least as new as the peek.
   */
  setListed(
    dir: string,
    entries: ReadonlyArray<{ name: string; stat: T }>,
    childPath: (dir: string, name: string) => string,
    ticket: ListingTicket,
  ): void {
    if (this.ttlMs <= 0 || ticket.stale) return;
    const now = this.now();
    for (const e of entries) {
      const path = childPath(dir, e.name);
      if (this.get(path) !== undefined || (this.dropped.get(path)?.expires ?? 0) > now) continue;
      this.put(path, e.stat);
    }
  }

  /** A listing of `dir` is being asked for: pass the ticket to setDir, then to endListing. */
  beginListing(dir: string): ListingTicket {
    const t = { dir, stale: false };
    let set = this.listing.get(dir);
    if (!set) this.listing.set(dir, (set = new Set()));
    set.add(t);
    return t;
  }

  endListing(t: ListingTicket): void {
    const set = this.listing.get(t.dir);
    if (!set?.delete(t) || set.size > 0) return;
    this.listing.delete(t.dir);
  }

  /** Names in `dir` changed here: a listing of it in flight may predate the change. */
  private namesChanged(dir: string): void {
    for (const t of this.listing.get(dir) ?? []) t.stale = true;
  }

  /**
   * Remember the listing of directory `dir` and each child's attributes;
   * `childPath` joins the directory and a name.
   */
  setDir(
    dir: string,
    entries: ReadonlyArray<{ name: string; stat: T }>,
    childPath: (dir: string, name: string) => string,
    ticket?: ListingTicket,
  ): void {
    if (this.ttlMs <= 0 || ticket?.stale) return;
    const d: Listing = { expires: this.now() + this.ttlMs, names: new Map(), folded: new Map() };
    for (const e of entries) {
      const path = childPath(dir, e.name);
      this.put(path, e.stat);
      d.names.set(e.name, path);
      const f = fold(e.name);
      const same = d.folded.get(f);
      if (same) same.push(e.name);
      else d.folded.set(f, [e.name]);
    }
    this.dirs.set(dir, d);
    this.lapsed.delete(dir);
  }

  /**
   * Add `name` to the live listing of `dir`, if there is one (a file this
   * mount made that the server does not show yet: its CREATE is deferred).
   */
  addName(dir: string, name: string): void {
    const d = this.dirs.get(dir);
    const f = fold(name);
    if (!d || d.folded.has(f)) return;
    d.names.set(name, null);
    d.folded.set(f, [name]);
  }

  /**
   * Whether the live listing of `dir` shows that `name` does not exist (no
   * entry equal to it ignoring case, as the server matches names), so a
   * lookup needs no round trip. False when no listing is cached.
   */
  knownAbsent(dir: string, name: string): boolean {
    const d = this.liveDir(dir);
    return d !== undefined && !d.folded.has(fold(name));
  }

  /**
   * We created `name` in `dir`: keep a cached listing in step (instead of
   * dropping it) and move the directory's times (dropTimes).
   */
  childAdded(dir: string, name: string): void {
    this.dropTimes(dir);
    this.namesChanged(dir);
    this.addName(dir, name);
  }

  /** We removed `name` from `dir`: the counterpart of childAdded. */
  childRemoved(dir: string, name: string): void {
    this.dropTimes(dir);
    this.namesChanged(dir);
    const d = this.dirs.get(dir);
    const f = fold(name);
    const same = d?.folded.get(f);
    if (!d || !same) return;
    d.folded.delete(f);
    for (const n of same) d.names.delete(n);
  }

  /** Forget `path` (attributes and listing) and, unless `exact`, everything under it. */
  invalidate(path: string, exact = false): void {
    const e = exact ? this.attrs.get(path) : undefined;
    this.drop(path);
    this.dropped.delete(path);
    if (e && e.stat !== null) {
      this.dropped.set(path, e);
      if (this.dropped.size > this.maxEntries) this.dropped.delete(this.dropped.keys().next().value!);
    }
    this.dirs.delete(path);
    this.identities.delete(path);
    this.lapsed.delete(path);
    this.namesChanged(path);
    if (exact) return;
    const prefix = path === '/' ? '/' : path + '/';
    for (const k of this.attrs.keys()) if (k.startsWith(prefix)) this.drop(k);
    for (const k of this.dirs.keys()) if (k.startsWith(prefix)) this.dirs.delete(k);
    for (const k of this.identities.keys()) if (k.startsWith(prefix)) this.identities.delete(k);
    for (const k of this.dropped.keys()) if (k.startsWith(prefix)) this.dropped.delete(k);
    for (const k of this.lapsed.keys()) if (k.startsWith(prefix)) this.lapsed.delete(k);
    for (const k of this.listing.keys()) if (k.startsWith(prefix)) this.namesChanged(k);
  }

  /**
   * A directory's names changed here: its times move (movedTimes; same
   * expiry), or its attributes go and its identity stays (see identity()).
   */
  private dropTimes(dir: string): void {
    const e = this.attrs.get(dir);
    if (e && e.stat !== null && this.movedTimes) {
      const now = this.now();
      if (e.expires > now) {
        e.stat = this.movedTimes(e.stat, now);
        this.onChange();
        return;
      }
    }
    this.drop(dir);
    if (!e || e.stat === null) return;
    this.identities.delete(dir);
    this.identities.set(dir, e);
    if (this.identities.size > this.maxEntries) this.identities.delete(this.identities.keys().next().value!);
  }

  /** Forget every attribute entry whose stat satisfies `pred` (O(entries): for rare changes). */
  invalidateWhere(pred: (stat: T) => boolean): void {
    for (const [k, e] of this.attrs) if (e.stat !== null && pred(e.stat)) this.drop(k);
  }

  /** Forget every attribute entry of the file with id `id` (needs idOf; O(names of that file)). */
  invalidateFile(id: bigint): void {
    for (const k of [...(this.byId.get(id) ?? [])]) this.drop(k);
  }

  /**
   * Something answers are built from besides this cache changed (an open
   * file's size and times kept here, which cover its entry): onChange, as
   * for a change of an entry.
   */
  outsideChange(): void {
    this.onChange();
  }

  /** Forget everything. */
  clear(): void {
    if (this.attrs.size > 0) this.onChange();
    this.attrs.clear();
    this.byId.clear();
    this.dirs.clear();
    this.identities.clear();
    this.dropped.clear();
    this.lapsed.clear();
    this.found.clear();
    this.missed.clear();
    this.unpeekable.clear();
    for (const k of this.listing.keys()) this.namesChanged(k);
  }

  /** Number of attribute entries (live or not yet swept). */
  get size(): number {
    return this.attrs.size;
  }

  /** Insert with expiry, most recent last; drop the oldest beyond the bound. */
  private put(path: string, stat: T | null): void {
    if (this.ttlMs <= 0) return;
    const now = this.now();
    const old = this.attrs.get(path);
    if (old && old.expires > now && !(old.stat === null ? stat === null : stat !== null && this.same(old.stat, stat))) this.onChange();
    this.remove(path);
    this.dropped.delete(path);
    this.attrs.set(path, { expires: now + this.ttlMs, stat });
    const id = stat !== null ? this.idOf?.(stat) : undefined;
    if (id) {
      const names = this.byId.get(id);
      if (names) names.add(path);
      else this.byId.set(id, new Set([path]));
    }
    while (this.attrs.size > this.maxEntries) {
      const oldest = this.attrs.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }

  /** Drop the attribute entry of `path` before its time (a change: onChange). */
  private drop(path: string): void {
    if (this.remove(path)) this.onChange();
  }

  /** Remove the attribute entry of `path` and its place in the id index; false if there was none. */
  private remove(path: string): boolean {
    const e = this.attrs.get(path);
    if (!e) return false;
    this.attrs.delete(path);
    const id = e.stat !== null ? this.idOf?.(e.stat) : undefined;
    if (!id) return true;
    const names = this.byId.get(id);
    if (names?.delete(path) && names.size === 0) this.byId.delete(id);
    return true;
  }
}

/** Names as the server compares them: case-insensitively. */
function fold(name: string): string {
  // Unicode form too: a name typed in NFC may be the NFD one listed (the server then decides).
  return (ASCII_NAME.test(name) ? name : name.normalize('NFC')).toLowerCase();
}
