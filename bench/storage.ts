import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Entry } from '@flotilla/core'
import { openFsStorage } from '@flotilla/storage-fs'

/**
 * `npm run bench -- storage [--seconds S] [--writers N]`
 * fs: entries/s and MB/s with group commit (N concurrent writers, one entry per save) against
 * the baseline of one writer whose every save is its own fdatasync, for 128-byte and 4 KB
 * entries; per-save latency percentiles. IndexedDB in Chromium: entries/s for batches of 1, 100
 * and 1,000 entries. Ends with one JSON line.
 */
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, writers: { type: 'string', default: '64' } },
})
const seconds = Number(values.seconds)
const writers = Number(values.writers)
const root = mkdtempSync(join(tmpdir(), 'flotilla-bench-storage-'))

interface Run {
  perS: number
  mbPerS: number
  p50: number
  p99: number
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

async function runFs(name: string, size: number, concurrency: number): Promise<Run> {
  const dir = join(root, name)
  const storage = await openFsStorage({ dir })
  const data = new Uint8Array(size).fill(7)
  let next = 1
  const latencies: number[] = []
  const start = performance.now()
  const deadline = start + seconds * 1000
  const writer = async () => {
    while (performance.now() < deadline) {
      const entry: Entry = { index: next++, term: 1, type: 0, data }
      const t = performance.now()
      await storage.save({ entries: [entry] })
      latencies.push(performance.now() - t)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, writer))
  const elapsed = (performance.now() - start) / 1000
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
  const n = latencies.length
  return {
    perS: n / elapsed,
    mbPerS: (n * size) / elapsed / 1e6,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  }
}

const fmt = (x: number, d = 1) => x.toFixed(d)
const results: Record<string, Run> = {}
for (const size of [128, 4096]) {
  const each = await runFs(`each-${size}`, size, 1)
  const group = await runFs(`group-${size}`, size, writers)
  results[`each_${size}`] = each
  results[`group_${size}`] = group
  console.log(
    `fs ${size} B: group commit (${writers} writers) ${fmt(group.perS, 0)} entries/s ${fmt(group.mbPerS, 2)} MB/s ` +
      `(save p50 ${fmt(group.p50, 2)} ms, p99 ${fmt(group.p99, 2)} ms) | one fdatasync per entry ${fmt(each.perS, 0)} ` +
      `entries/s ${fmt(each.mbPerS, 2)} MB/s (sync p50 ${fmt(each.p50, 2)} ms, p99 ${fmt(each.p99, 2)} ms) | ` +
      `ratio ${fmt(group.perS / each.perS, 1)}x`,
  )
}
rmSync(root, { recursive: true, force: true })

// IndexedDB, in real Chromium through the storage-idb test harness (a path the scripts project
// does not compile: it needs DOM types).
const harnessUrl = new URL('../packages/storage-idb/test-support/browser-harness.ts', import.meta.url).href
const { startIdbBrowser } = (await import(harnessUrl)) as {
  startIdbBrowser(): Promise<{
    newTab(): Promise<{ evaluate<R, A>(fn: (arg: A) => Promise<R>, arg: A): Promise<R> }>
    close(): Promise<void>
  }>
}
const browser = await startIdbBrowser()
const idb: Record<number, number> = {}
try {
  const tab = await browser.newTab()
  for (const batch of [1, 100, 1000]) {
    idb[batch] = await tab.evaluate(
      async ({ batch, seconds }) => {
        type Api = {
          openIdbStorage(o: { peerId: string }): Promise<{
            save(b: { entries: { index: number; term: number; type: 0; data: Uint8Array }[] }): Promise<void>
            close(): Promise<void>
          }>
        }
        const { openIdbStorage } = (globalThis as unknown as { flotillaIdb: Api }).flotillaIdb
        const s = await openIdbStorage({ peerId: `bench-${batch}-${Date.now()}` })
        const data = new Uint8Array(128).fill(7)
        let next = 1
        const start = performance.now()
        while (performance.now() - start < seconds * 1000) {
          const entries = Array.from({ length: batch }, () => ({
            index: next++,
            term: 1,
            type: 0 as const,
            data,
          }))
          await s.save({ entries })
        }
        const perS = (next - 1) / ((performance.now() - start) / 1000)
        await s.close()
        return perS
      },
      { batch, seconds },
    )
    console.log(`idb (Chromium) batches of ${batch}: ${fmt(idb[batch], 0)} entries/s (128 B entries)`)
  }
} finally {
  await browser.close()
}

const ratio = results.group_128.perS / results.each_128.perS
console.log(
  `goal: group commit >= 20x one-fdatasync-per-entry at 128 B: ${ratio >= 20 ? 'met' : 'NOT met'} (${fmt(ratio, 1)}x)`,
)
console.log(
  JSON.stringify({
    bench: 'storage',
    fs_group_commit_per_s: Math.round(results.group_128.perS),
    fs_sync_each_per_s: Math.round(results.each_128.perS),
    ratio_group_commit: Number(ratio.toFixed(2)),
    fs_sync_p50_ms: Number(results.each_128.p50.toFixed(3)),
    fs_sync_p99_ms: Number(results.each_128.p99.toFixed(3)),
    fs_group_commit_mb_per_s: Number(results.group_128.mbPerS.toFixed(3)),
    fs_group_commit_per_s_4k: Math.round(results.group_4096.perS),
    fs_group_commit_mb_per_s_4k: Number(results.group_4096.mbPerS.toFixed(2)),
    fs_sync_each_per_s_4k: Math.round(results.each_4096.perS),
    ratio_group_commit_4k: Number((results.group_4096.perS / results.each_4096.perS).toFixed(2)),
    idb_per_s_1: Math.round(idb[1]),
    idb_per_s_100: Math.round(idb[100]),
    idb_per_s_1000: Math.round(idb[1000]),
  }),
)
