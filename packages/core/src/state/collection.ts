import type { IndexFactory, VectorIndex } from '../vector/index.js'
import type { CollectionOptions, Metadata, UpsertItem } from './commands.js'
import { distance } from './distance.js'
import { compileFilter, type Filter, type Predicate } from './filter.js'

export interface Item {
  id: string
  key: number
  vector: Float32Array
  metadata: Metadata | undefined
}

export interface SearchOptions {
  k: number
  /** Search expansion for this query (on native this rebuilds the wrapper: keep it stable). */
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

  /**
   * Inserts or replaces items. Each write takes a fresh key, so the index work (the only step
   * that can fail) happens before any table changes; a failure leaves only unreachable keys.
   */
  upsert(items: readonly UpsertItem[]): number {
    const keys = items.map((_, i) => this.nextKey + i)
    const rows = new Float32Array(items.length * this.options.dimensions)
    items.forEach((it, i) => {
      rows.set(it.vector, i * this.options.dimensions)
    })
    // Keys are spent even if the add fails, so a half-added batch never collides with the next.
    this.nextKey += items.length
    try {
      this.#index.addMany(keys, rows)
    } catch (err) {
      for (const key of keys) if (this.#index.contains(key)) this.#index.remove(key)
      throw err
    }
    items.forEach((it, i) => {
      const old = this.ids.get(it.id)
      // Re-inserting keeps `ids` in key order, the order a snapshot restores it in.
      if (old !== undefined) {
        this.#drop(old)
        this.ids.delete(it.id)
      }
      const item = { id: it.id, key: keys[i], vector: Float32Array.from(it.vector), metadata: it.metadata }
      this.ids.set(it.id, keys[i])
      this.items.set(keys[i], item)
    })
    return items.length
  }

  updateMetadata(id: string, metadata: Metadata): boolean {
    const key = this.ids.get(id)
    if (key === undefined) return false
    this.items.get(key)!.metadata = metadata
    return true
  }

  delete(ids: readonly string[]): number {
    let deleted = 0
    for (const id of ids) {
      const key = this.ids.get(id)
      if (key === undefined) continue
      this.#drop(key)
      this.ids.delete(id)
      deleted++
    }
    return deleted
  }

  #drop(key: number): void {
    this.#index.remove(key)
    this.items.delete(key)
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
    if (options.ef !== undefined && options.ef !== this.#index.expansion) this.#index.setExpansion(options.ef)
    if (options.filter === undefined) return this.#approximate(query, k, undefined, this.items.size)
    const predicate = compileFilter(options.filter)
    const matching: Item[] = []
    for (const item of this.items.values()) if (predicate(item.metadata)) matching.push(item)
    if (matching.length <= Math.max(k, EXACT_SCAN_MAX)) return this.#exact(query, k, matching)
    return this.#approximate(query, k, predicate, matching.length)
  }

  // Over-fetches by the filter's selectivity and widens until k live matches are found.
  #approximate(query: Float32Array, k: number, predicate: Predicate | undefined, matching: number): Hit[] {
    const want = Math.min(k, matching)
    const total = this.#index.count()
    let fetch = Math.min(total, Math.ceil((k * this.items.size) / matching) + 8)
    for (;;) {
      const found = this.#index.search(query, fetch)
      const hits: Hit[] = []
      for (let i = 0; i < found.keys.length && hits.length < k; i++) {
        const item = this.items.get(found.keys[i])
        if (item && (!predicate || predicate(item.metadata)))
          hits.push({ id: item.id, distance: found.distances[i], metadata: item.metadata })
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
      .map(({ id, distance: d, metadata }) => ({ id, distance: d, metadata }))
  }
}
