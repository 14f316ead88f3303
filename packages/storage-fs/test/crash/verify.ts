import type { HardState } from '@flotilla/core'
import { openFsStorage } from '../../src/index.js'
import { applyBatch, type Batch, type LogModel, lastOf, payload, snapshotBytes } from './model.js'

export interface Verdict {
  /** Acknowledged entries that are missing or changed. */
  lost: number
  /** Other inconsistencies: an unexplained log, a wrong hard state, damaged data. */
  problems: string[]
  /** The recovered log, the baseline for the next round. */
  log: LogModel
  hardState: HardState
}

/**
 * Reopens `dir` after a kill and checks it against what the child reported: the recovered log
 * must be the baseline with some prefix of the started batches applied, a prefix that includes
 * every acknowledged batch; every entry's bytes must match; the hard state must be the one the
 * last batch of that prefix wrote with its entries.
 */
export async function verify(
  dir: string,
  base: LogModel,
  baseHardState: HardState,
  batches: Batch[],
  acked: number,
): Promise<Verdict> {
  const problems: string[] = []
  const storage = await openFsStorage({ dir, maxSegmentBytes: 256 * 1024 })
  try {
    const st = await storage.load()
    const got = await storage.entries(st.firstIndex, st.lastIndex + 1)
    const log: LogModel = { first: st.firstIndex, terms: got.map((e) => e.term) }
    got.forEach((e, i) => {
      if (e.index !== st.firstIndex + i) problems.push(`entry at position ${i} has index ${e.index}`)
      if (i > 0 && e.term < got[i - 1].term) problems.push(`term goes down at index ${e.index}`)
      const want = payload(e.index, e.term)
      if (e.data.length !== want.length || e.data.some((b, j) => b !== want[j]))
        problems.push(`entry ${e.index} (term ${e.term}) has the wrong bytes`)
    })
    if (st.firstIndex > 1) {
      if (!st.snapshot || st.snapshot.index < st.firstIndex - 1)
        problems.push(`log starts at ${st.firstIndex} without a snapshot covering it`)
    }
    if (st.snapshot) {
      const snap = await storage.readSnapshot()
      const parts: number[] = []
      for await (const c of snap!.chunks()) parts.push(...c)
      const want = snapshotBytes(st.snapshot.index)
      if (parts.length !== want.length || parts.some((b, j) => b !== want[j]))
        problems.push(`snapshot at ${st.snapshot.index} has the wrong bytes`)
    }

    // Which prefixes of the started batches could the disk hold? At least the acknowledged ones.
    let match = -1
    let model = base
    const models: LogModel[] = [base]
    for (const b of batches) {
      model = applyBatch(model, b)
      models.push(model)
    }
    for (let k = acked; k <= batches.length; k++) {
      if (sameFrom(models[k], log)) {
        match = k
        break
      }
    }
    // Acknowledged entries that a later (also durable) batch overwrote are not lost.
    let lost = 0
    const expected = models[acked]
    if (match < 0)
      for (let i = Math.max(expected.first, log.first); i <= lastOf(expected); i++) {
        if (log.terms[i - log.first] !== expected.terms[i - expected.first]) {
          if (lost === 0)
            problems.push(
              `first lost entry ${i}: want term ${expected.terms[i - expected.first]}, found ${log.terms[i - log.first]} (log [${log.first}, ${lastOf(log)}], acknowledged [${expected.first}, ${lastOf(expected)}])`,
            )
          lost++
        }
      }
    if (match < 0 && lost === 0)
      problems.push(`recovered log [${log.first}, ${lastOf(log)}] matches no prefix of the started batches`)
    if (match >= 0) {
      // The hard state travels in the same frame as its batch's entries: it must be exactly
      // the one of the last batch in the matching prefix.
      const allowed = [match === 0 ? baseHardState : batches[match - 1].hardState]
      if (!allowed.some((h) => sameHardState(h, st.hardState)))
        problems.push(
          `hard state ${JSON.stringify(st.hardState)} is not the one batch ${match - 1} wrote with the entries`,
        )
    }
    return { lost, problems, log, hardState: st.hardState }
  } finally {
    await storage.close()
  }
}

/** Equal on every index both hold from the later first index on, and on the last index. */
function sameFrom(want: LogModel, got: LogModel): boolean {
  if (lastOf(want) !== lastOf(got)) return false
  for (let i = Math.max(want.first, got.first); i <= lastOf(got); i++)
    if (want.terms[i - want.first] !== got.terms[i - got.first]) return false
  return true
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
