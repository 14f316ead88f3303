import type { IndexFactory, VectorIndex } from '../vector/index.js'
import type { CollectionOptions, Metadata, UpsertItem } from './commands.js'
import { distance } from './distance.js'
import { compileFilter, type Filter, type Predicate } from './filter.js'
import { clonePlain } from './values.js'

/** One stored item. Never changed in place (an update replaces it), so a snapshot can hold it. */
export interface Item {
  readonly id: string
  readonly key: number
  readonly vector: Float32Array
  readonly metadata: Metadata | undefined
}

export type StoredItem = Item

export interface SearchOptions {
  k: number
  /** Candidate list size for this query only (at least the collection's `expansionSearch`). */
  ef?: number
  filter?: Filter
}

export interface Hit {
  id: string
  distance: number
  metadata: Metadata | undefined
}

/** A filter matching at most this many items is answered by an exact scan. */
export const EXACT_SCAN_MAX = 1024

/**
 * One collection's replicated state: the id table (string id -> integer key), each item's
 * vector and metadata, and the usearch index over the live keys.
 */
export class Collection {
  readonly name: string
  readonly options: Required<CollectionOptions>
  readonly ids = new Map<string, number>()
  readonly items = new Map<number, Item>()
  nextKey = 0
  #make: IndexFactory
  #index: VectorIndex

  constructor(name: string, options: Required<CollectionOptions>, make: IndexFactory) {
    this.name = name
    this.options = options
    this.#make = make
    this.#index = make(options)
  }

  get index(): VectorIndex {
    return this.#index
  }

  get size(): number {
    return this.items.size
  }

  item(id: string): Item | undefined {
    const key = this.ids.get(id)
    return key === undefined ? undefined : this.items.get(key)
  }

  /**
   * Inserts or replaces items, all or nothing: every index step (add the new keys, remove the
   * replaced ones) runs before any table changes, and a failure undoes what the index did.
   * Takes ownership of each item's vector (the state machine passes the ones it just decoded):
   * the caller must not change them afterwards.
   */
  upsert(items: readonly UpsertItem[]): number {
    const d = this.options.dimensions
    const keys = items.map((_, i) => this.nextKey + i)
    const rows = new Float32Array(items.length * d)
    items.forEach((it, i) => {
      rows.set(it.vector, i * d)
    })
    const replaced: Item[] = []
    for (const it of items) {
      const old = this.item(it.id)
      if (old) replaced.push(old)
    }
    try {
      this.#index.addMany(keys, rows)
    } catch (err) {
      this.#undo(keys, [])
      throw err
    }
    this.#removeAll(replaced, keys)
    this.nextKey += items.length
    items.forEach((it, i) => {
      const old = this.ids.get(it.id)
      // Re-inserting keeps `ids` in key order, the order a snapshot restores it in.
      if (old !== undefined) {
        this.items.delete(old)
        this.ids.delete(it.id)
      }
      this.ids.set(it.id, keys[i])
      this.items.set(keys[i], {
        id: it.id,
        key: keys[i],
        vector: it.vector,
        metadata: clonePlain(it.metadata),
      })
    })
    return items.length
  }

  updateMetadata(id: string, metadata: Metadata): boolean {
    const item = this.item(id)
    if (!item) return false
    this.items.set(item.key, { ...item, metadata: clonePlain(metadata) })
    return true
  }

  /** Deletes ids, all or nothing (see upsert). */
  delete(ids: readonly string[]): number {
    const doomed = new Map<number, Item>()
    for (const id of ids) {
      const item = this.item(id)
      if (item) doomed.set(item.key, item)
    }
    this.#removeAll([...doomed.values()], [])
    for (const item of doomed.values()) {
      this.items.delete(item.key)
      this.ids.delete(item.id)
    }
    return doomed.size
  }

  // Removes items from the index; on a failure puts back what it removed and drops `added`.
  #removeAll(items: readonly Item[], added: readonly number[]): void {
    const removed: Item[] = []
    try {
      for (const item of items) {
        this.#index.remove(item.key)
        removed.push(item)
      }
    } catch (err) {
      this.#undo(added, removed)
      throw err
    }
  }

  // Best effort: the machine stops after a local failure, but its index should not lie.
  #undo(added: readonly number[], removed: readonly Item[]): void {
    try {
      for (const key of added) if (this.#index.contains(key)) this.#index.remove(key)
      for (const item of removed) this.#index.add(item.key, item.vector)
    } catch {
      // The original failure is what the caller must see.
    }
  }

  /** Rebuilds the index from the live items, dropping usearch's tombstones. */
  compact(): number {
    const fresh = this.#make(this.options)
    const live = [...this.items.values()].sort((a, b) => a.key - b.key)
    const rows = new Float32Array(live.length * this.options.dimensions)
    live.forEach((it, i) => {
      rows.set(it.vector, i * this.options.dimensions)
    })
    try {
      fresh.addMany(
        live.map((it) => it.key),
        rows,
      )
      fresh.setExpansion(this.#index.expansion)
    } catch (err) {
      // The old index stays in service; the half-built one must not leak.
      fresh.free()
      throw err
    }
    this.#index.free()
    this.#index = fresh
    return live.length
  }

  /** Replaces the index by serialized bytes, without re-inserting (snapshot restore). */
  loadIndex(bytes: Uint8Array): void {
    this.#index.load(bytes)
  }

  free(): void {
    this.#index.free()
  }

  search(query: Float32Array, options: SearchOptions): Hit[] {
    const { k } = options
    if (this.items.size === 0) return []
    const ef = options.ef ?? 0
    if (options.filter === undefined) return this.#approximate(query, k, ef, undefined, this.items.size)
    const predicate = compileFilter(options.filter)
    const matching: Item[] = []
    for (const item of this.items.values()) if (predicate(item.metadata)) matching.push(item)
    if (matching.length <= Math.max(k, EXACT_SCAN_MAX)) return this.#exact(query, k, matching)
    return this.#approximate(query, k, ef, predicate, matching.length)
  }

  /**
   * Over-fetches by the filter's selectivity and widens until k live matches are found. Asking
   * usearch for `ef` hits makes its candidate list at least `ef` long for this query alone (the
   * native addon fixes `ef` per wrapper, and changing it there means a save and a reload).
   */
  #approximate(
    query: Float32Array,
    k: number,
    ef: number,
    predicate: Predicate | undefined,
    matching: number,
  ): Hit[] {
    const want = Math.min(k, matching)
    const total = this.#index.count()
    let fetch = Math.min(total, Math.max(ef, Math.ceil((k * this.items.size) / matching) + 8))
    for (;;) {
      const found = this.#index.search(query, fetch)
      const hits: Hit[] = []
      for (let i = 0; i < found.keys.length && hits.length < k; i++) {
        const item = this.items.get(found.keys[i])
        if (item && (!predicate || predicate(item.metadata)))
          hits.push({ id: item.id, distance: found.distances[i], metadata: clonePlain(item.metadata) })
      }
      if (hits.length >= want) return hits
      if (fetch >= total) break
      fetch = Math.min(total, fetch * 4)
    }
    // The graph could not reach enough matches: answer exactly instead of short.
    const candidates = [...this.items.values()].filter((it) => !predicate || predicate(it.metadata))
    return this.#exact(query, k, candidates)
  }

  #exact(query: Float32Array, k: number, candidates: readonly Item[]): Hit[] {
    const metric = this.options.metric
    return candidates
      .map((it) => ({
        id: it.id,
        distance: distance(metric, query, it.vector),
        metadata: it.metadata,
        key: it.key,
      }))
      .sort((a, b) => a.distance - b.distance || a.key - b.key)
      .slice(0, k)
      .map(({ id, distance: d, metadata }) => ({ id, distance: d, metadata: clonePlain(metadata) }))
  }
}
