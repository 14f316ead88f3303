import { join } from 'node:path'
import { decodeCbor, encodeCbor, type SnapshotMeta, StorageError, type StoredSnapshot } from '@flotilla/core'
import { crc32c } from '@node-rs/crc32'
import type { File, FileSystem } from './file-system.js'
import { readExactly } from './files.js'

/**
 * A snapshot file: header | data | trailer, written to a temporary file and renamed into place.
 *
 *   header  = magic u32 | meta length u32 | crc32c(meta) u32 | meta (CBOR: meta, replaceLog)
 *   trailer = data length u64 | crc32c(data) u32 | end magic u32
 */
export const SNAPSHOT_FILE = 'snapshot'
const MAGIC = 0x464c534e // "FLSN"
const END_MAGIC = 0x464c5345 // "FLSE"
const HEADER_BYTES = 12
const TRAILER_BYTES = 16
const READ_CHUNK = 256 * 1024
const TWO_32 = 2 ** 32

export interface SnapshotHeader {
  meta: SnapshotMeta
  /** Written by an incoming snapshot that replaces the whole log (see recovery). */
  replaceLog: boolean
  size: number
  dataOffset: number
  /** crc32c of the data, from the trailer. */
  crc: number
}

let tmpCounter = 0

/** Streams `chunks` into a temporary file and fsyncs it; returns its path for `installSnapshotFile`. */
export async function writeSnapshotTemp(
  fs: FileSystem,
  dir: string,
  meta: SnapshotMeta,
  replaceLog: boolean,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<string> {
  const tmp = join(dir, `${SNAPSHOT_FILE}.${process.pid}.${tmpCounter++}.tmp`)
  const fh = await fs.open(tmp, 'replace')
  try {
    const metaBytes = encodeCbor({ meta, replaceLog })
    const header = Buffer.allocUnsafe(HEADER_BYTES)
    header.writeUInt32LE(MAGIC, 0)
    header.writeUInt32LE(metaBytes.length, 4)
    header.writeUInt32LE(crc32c(Buffer.from(metaBytes)), 8)
    await fh.write(header, 0)
    await fh.write(metaBytes, HEADER_BYTES)
    let at = HEADER_BYTES + metaBytes.length
    let size = 0
    let crc = 0
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue
      crc = crc32c(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), crc)
      await fh.write(chunk, at)
      at += chunk.length
      size += chunk.length
    }
    const trailer = Buffer.allocUnsafe(TRAILER_BYTES)
    trailer.writeUInt32LE(size % TWO_32, 0)
    trailer.writeUInt32LE(Math.floor(size / TWO_32), 4)
    trailer.writeUInt32LE(crc, 8)
    trailer.writeUInt32LE(END_MAGIC, 12)
    await fh.write(trailer, at)
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await fs.unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  return tmp
}

export async function installSnapshotFile(fs: FileSystem, dir: string, tmp: string): Promise<void> {
  await fs.rename(tmp, join(dir, SNAPSHOT_FILE))
  await fs.syncDir(dir)
}

/** Makes the installed snapshot file's data durable (its name is made durable with its directory). */
export async function syncSnapshotFile(fs: FileSystem, dir: string): Promise<void> {
  const file = await fs.open(join(dir, SNAPSHOT_FILE), 'read').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null
    throw err
  })
  if (!file) return
  try {
    await file.sync()
  } finally {
    await file.close()
  }
}

/** Reads and checks the header and trailer; null when there is no snapshot. */
export async function readSnapshotHeader(fs: FileSystem, dir: string): Promise<SnapshotHeader | null> {
  const path = join(dir, SNAPSHOT_FILE)
  let fh: File
  try {
    fh = await fs.open(path, 'read')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const fileSize = await fh.size()
    const header = await readExactly(fh, 0, HEADER_BYTES, path)
    if (header.readUInt32LE(0) !== MAGIC)
      throw new StorageError('ERR_CORRUPT', `${path} at offset 0: bad magic`)
    const metaLen = header.readUInt32LE(4)
    const metaBytes = await readExactly(fh, HEADER_BYTES, metaLen, path)
    if (crc32c(metaBytes) !== header.readUInt32LE(8))
      throw new StorageError('ERR_CORRUPT', `${path} at offset ${HEADER_BYTES}: metadata checksum mismatch`)
    const { meta, replaceLog } = decodeCbor<{ meta: SnapshotMeta; replaceLog: boolean }>(metaBytes)
    const dataOffset = HEADER_BYTES + metaLen
    const trailerAt = fileSize - TRAILER_BYTES
    const trailer = await readExactly(fh, trailerAt, TRAILER_BYTES, path)
    const size = trailer.readUInt32LE(0) + trailer.readUInt32LE(4) * TWO_32
    if (trailer.readUInt32LE(12) !== END_MAGIC || dataOffset + size !== trailerAt)
      throw new StorageError('ERR_CORRUPT', `${path} at offset ${trailerAt}: bad trailer`)
    return { meta, replaceLog, size, dataOffset, crc: trailer.readUInt32LE(8) }
  } finally {
    await fh.close()
  }
}

/**
 * The stored snapshot, read as a stream. The whole data is checked against its checksum before
 * the first chunk is handed out, so a damaged snapshot is never partly applied.
 */
export function snapshotReader(fs: FileSystem, dir: string, header: SnapshotHeader): StoredSnapshot {
  const path = join(dir, SNAPSHOT_FILE)
  return {
    meta: structuredClone(header.meta),
    size: header.size,
    async *chunks() {
      // An open file keeps reading this snapshot's data even if a newer one is renamed over it.
      const fh = await fs.open(path, 'read')
      try {
        const end = header.dataOffset + header.size
        const trailer = (await fh.size()) === end + TRAILER_BYTES ? await fh.read(end, TRAILER_BYTES) : null
        if (!trailer || trailer.length < TRAILER_BYTES || trailer.readUInt32LE(8) !== header.crc)
          throw new StorageError(
            'ERR_UNAVAILABLE',
            `${path}: the snapshot was replaced before it was read; read it again`,
          )
        let crc = 0
        for (let at = header.dataOffset; at < end; at += READ_CHUNK)
          crc = crc32c(await readExactly(fh, at, Math.min(READ_CHUNK, end - at), path), crc)
        if (crc !== header.crc)
          throw new StorageError(
            'ERR_CORRUPT',
            `${path} at offset ${header.dataOffset}: snapshot data checksum mismatch`,
          )
        for (let at = header.dataOffset; at < end; at += READ_CHUNK) {
          const chunk = await readExactly(fh, at, Math.min(READ_CHUNK, end - at), path)
          yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)
        }
      } finally {
        await fh.close()
      }
    },
  }
}
