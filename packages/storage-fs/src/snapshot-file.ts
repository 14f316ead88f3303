import { join } from 'node:path'
import {
  checkSnapshotRange,
  decodeCbor,
  encodeCbor,
  type SnapshotMeta,
  StorageError,
  type StoredSnapshot,
} from '@flotilla/core'
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

/**
 * A snapshot streamed into a temporary file as its pieces arrive. `finish` completes and syncs
 * it for `installSnapshotFile`; until then (and after `abort`, or a crash: the next open deletes
 * temporary files) the installed snapshot is untouched.
 */
export class SnapshotFileWriter {
  size = 0
  private crc = 0

  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    private readonly fh: File,
    private readonly meta: SnapshotMeta,
    private readonly dataOffset: number,
  ) {}

  static async create(fs: FileSystem, dir: string, meta: SnapshotMeta): Promise<SnapshotFileWriter> {
    const tmp = join(dir, `${SNAPSHOT_FILE}.${process.pid}.${tmpCounter++}.tmp`)
    const fh = await fs.open(tmp, 'replace')
    try {
      const header = snapshotHeader(meta, false)
      await fh.write(header, 0)
      return new SnapshotFileWriter(fs, tmp, fh, meta, header.length)
    } catch (err) {
      await fh.close().catch(() => {})
      await fs.unlink(tmp).catch(() => {})
      throw err
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return
    this.crc = crc32c(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), this.crc)
    await this.fh.write(bytes, this.dataOffset + this.size)
    this.size += bytes.length
  }

  /** Writes the trailer (and the header's replaceLog flag) and syncs the file; closes it. */
  async finish(replaceLog: boolean): Promise<void> {
    // CBOR true and false are one byte each: the header keeps its length.
    if (replaceLog) await this.fh.write(snapshotHeader(this.meta, true), 0)
    const trailer = Buffer.allocUnsafe(TRAILER_BYTES)
    trailer.writeUInt32LE(this.size % TWO_32, 0)
    trailer.writeUInt32LE(Math.floor(this.size / TWO_32), 4)
    trailer.writeUInt32LE(this.crc, 8)
    trailer.writeUInt32LE(END_MAGIC, 12)
    await this.fh.write(trailer, this.dataOffset + this.size)
    await this.fh.sync()
    await this.fh.close()
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => {})
    await this.fs.unlink(this.path).catch(() => {})
  }
}

function snapshotHeader(meta: SnapshotMeta, replaceLog: boolean): Buffer {
  const metaBytes = encodeCbor({ meta, replaceLog })
  const header = Buffer.allocUnsafe(HEADER_BYTES + metaBytes.length)
  header.writeUInt32LE(MAGIC, 0)
  header.writeUInt32LE(metaBytes.length, 4)
  header.writeUInt32LE(crc32c(Buffer.from(metaBytes)), 8)
  header.set(metaBytes, HEADER_BYTES)
  return header
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
 * The stored snapshot, read as a stream or a range at a time. The stream checks the whole data
 * against its checksum before the first chunk is handed out, so a damaged snapshot is never
 * partly applied; a range is checked by whoever reads it (a follower restores through the
 * state machine's checksummed frames).
 */
export function snapshotReader(fs: FileSystem, dir: string, header: SnapshotHeader): StoredSnapshot {
  const path = join(dir, SNAPSHOT_FILE)
  const end = header.dataOffset + header.size
  return {
    meta: structuredClone(header.meta),
    size: header.size,
    async *chunks() {
      const fh = await openSame(fs, path, header)
      try {
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
    async read(offset, length) {
      checkSnapshotRange(offset, length, header.size)
      const fh = await openSame(fs, path, header)
      try {
        const bytes = await readExactly(fh, header.dataOffset + offset, length, path)
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
      } finally {
        await fh.close()
      }
    },
  }
}

/**
 * Opens the snapshot file if it is still the one `header` describes. An open file keeps reading
 * this snapshot's data even if a newer one is renamed over it.
 */
async function openSame(fs: FileSystem, path: string, header: SnapshotHeader): Promise<File> {
  const replaced = () =>
    new StorageError(
      'ERR_UNAVAILABLE',
      `${path}: the snapshot was replaced before it was read; read it again`,
    )
  const fh = await fs.open(path, 'read').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? replaced() : err
  })
  try {
    const end = header.dataOffset + header.size
    const trailer = (await fh.size()) === end + TRAILER_BYTES ? await fh.read(end, TRAILER_BYTES) : null
    if (!trailer || trailer.length < TRAILER_BYTES || trailer.readUInt32LE(8) !== header.crc) throw replaced()
    return fh
  } catch (err) {
    await fh.close()
    throw err
  }
}
