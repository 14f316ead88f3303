import type { File } from './file-system.js'

/** One segment file, named by its sequence number and salt. */
export interface Segment {
  seq: number
  salt: number
  path: string
  file: File
  size: number
  /** The highest entry index ever written to it: once below the first index, the segment can go. */
  maxIndex: number
  /** Reads in progress; a dropped segment's file is closed when the last one ends. */
  readers: number
  dropped: boolean
}

export const SEGMENT_NAME = /^(\d{20})-([0-9a-f]{8})\.wal$/
export const segmentName = (seq: number, salt: number) =>
  `${String(seq).padStart(20, '0')}-${salt.toString(16).padStart(8, '0')}.wal`
