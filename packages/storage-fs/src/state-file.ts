import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeCbor, encodeCbor, type HardState, StorageError } from '@flotilla/core'
import { crc32c } from '@node-rs/crc32'
import { replaceFile } from './files.js'

export const STATE_FILE = 'state'
const MAGIC = 0x464c5354 // "FLST"

/** The small, atomically replaced file: the Raft hard state and the log's first index. */
export interface DirState {
  hardState: HardState
  /** Entries below this index are compacted, whatever the segments still hold. */
  firstIndex: number
}

export const INITIAL_STATE: DirState = { hardState: { term: 0, vote: '', commit: 0 }, firstIndex: 1 }

export async function readState(dir: string): Promise<DirState> {
  const path = join(dir, STATE_FILE)
  let buf: Buffer
  try {
    buf = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(INITIAL_STATE)
    throw err
  }
  // The file is only ever replaced by rename, so any defect here is corruption, not a torn write.
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC)
    throw new StorageError('ERR_CORRUPT', `${path} at offset 0: bad header`)
  const body = buf.subarray(8)
  if (crc32c(body) !== buf.readUInt32LE(4))
    throw new StorageError('ERR_CORRUPT', `${path} at offset 8: checksum mismatch`)
  const v = decodeCbor<{ term: number; vote: string; commit: number; first: number }>(body)
  return { hardState: { term: v.term, vote: v.vote, commit: v.commit }, firstIndex: v.first }
}

export async function writeState(dir: string, state: DirState): Promise<void> {
  const { term, vote, commit } = state.hardState
  const body = encodeCbor({ term, vote, commit, first: state.firstIndex })
  const buf = Buffer.allocUnsafe(8 + body.length)
  buf.writeUInt32LE(MAGIC, 0)
  buf.writeUInt32LE(crc32c(body), 4)
  buf.set(body, 8)
  await replaceFile(dir, join(dir, STATE_FILE), buf)
}
