import {
  decodeCbor,
  encodeCbor,
  type SnapshotWriter,
  type Storage,
  StorageError,
  type StoredSnapshot,
} from '@flotilla/core'

/**
 * The storage conformance suite runs under Vitest in Node; the store under test runs in another
 * runtime (Deno, workerd). This carries each Storage call over one WebSocket, in order, as CBOR:
 * the runtime side calls its store at once for each request (so overlapping calls overlap there
 * too) and answers when the call settles; the Node side is a Storage whose every method is a
 * request. A StorageError crosses with its code.
 */

type Op =
  | 'load'
  | 'save'
  | 'entries'
  | 'term'
  | 'writeSnapshot'
  | 'beginSnapshot'
  | 'snapshotWrite'
  | 'snapshotCommit'
  | 'snapshotAbort'
  | 'readSnapshot'
  | 'snapshotRead'
  | 'compact'
  | 'close'

/** Snapshot writers and readers the runtime side holds for the Node side, by number. */
interface Handles {
  next: number
  writers: Map<number, SnapshotWriter>
  snapshots: Map<number, StoredSnapshot>
}

interface Request {
  id: number
  op: Op
  args: unknown[]
}

type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code?: string; message: string }

/** The part of a WebSocket both `ws` and the platform WebSocket have. */
export interface SocketLike {
  send(data: Uint8Array): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close' | 'error', listener: () => void): void
}

async function bytesOf(data: unknown): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (typeof (data as Blob).arrayBuffer === 'function')
    return new Uint8Array(await (data as Blob).arrayBuffer())
  throw new TypeError('remote storage: expected a binary WebSocket message')
}

/** Runtime side: answers requests on `socket` from the store that `open()` gives. */
export function serveStorage(socket: SocketLike, open: () => Promise<Storage>): void {
  const store = open()
  const handles: Handles = { next: 1, writers: new Map(), snapshots: new Map() }
  // A store that fails to open (ERR_LOCKED) answers every request with that error.
  store.catch(() => {})
  // Decoding is asynchronous for Blob messages: chain it so requests reach the store in order.
  let inOrder: Promise<unknown> = Promise.resolve()
  socket.addEventListener('message', (event) => {
    inOrder = inOrder.then(async () => {
      const request = decodeCbor<Request>(await bytesOf(event.data))
      store
        .then((storage) => call(storage, handles, request))
        .then(
          (value) => socket.send(encodeCbor({ id: request.id, ok: true, value } satisfies Reply)),
          (err: Error & { code?: string }) =>
            socket.send(
              encodeCbor({ id: request.id, ok: false, code: err.code, message: err.message } satisfies Reply),
            ),
        )
    })
  })
}

async function call(storage: Storage, handles: Handles, { op, args }: Request): Promise<unknown> {
  switch (op) {
    case 'load':
      return storage.load()
    case 'save':
      return storage.save(args[0] as Parameters<Storage['save']>[0])
    case 'entries':
      return storage.entries(args[0] as number, args[1] as number)
    case 'term':
      return (await storage.term(args[0] as number)) ?? null
    case 'writeSnapshot':
      return storage.writeSnapshot(
        args[0] as Parameters<Storage['writeSnapshot']>[0],
        args[1] as Uint8Array[],
        args[2] as Parameters<Storage['writeSnapshot']>[2],
      )
    case 'beginSnapshot': {
      const handle = handles.next++
      handles.writers.set(
        handle,
        await storage.beginSnapshot(args[0] as Parameters<Storage['beginSnapshot']>[0]),
      )
      return handle
    }
    case 'snapshotWrite':
      return writerOf(handles, args[0]).write(args[1] as number, args[2] as Uint8Array)
    case 'snapshotCommit':
      return writerOf(handles, args[0]).commit(args[1] as Parameters<SnapshotWriter['commit']>[0])
    case 'snapshotAbort':
      return writerOf(handles, args[0]).abort()
    case 'readSnapshot': {
      const snap = await storage.readSnapshot()
      if (!snap) return null
      const chunks: Uint8Array[] = []
      for await (const chunk of snap.chunks()) chunks.push(chunk)
      const handle = handles.next++
      handles.snapshots.set(handle, snap)
      return { meta: snap.meta, size: snap.size, chunks, handle }
    }
    case 'snapshotRead': {
      const snap = handles.snapshots.get(args[0] as number)
      if (!snap) throw new Error(`remote storage: no snapshot handle ${args[0]}`)
      return snap.read(args[1] as number, args[2] as number)
    }
    case 'compact':
      return storage.compact(args[0] as number)
    case 'close':
      return storage.close()
  }
}

function writerOf(handles: Handles, handle: unknown): SnapshotWriter {
  const writer = handles.writers.get(handle as number)
  if (!writer) throw new Error(`remote storage: no snapshot writer ${handle}`)
  return writer
}

/** Node side: a Storage whose calls run in the store behind `socket` (already open). */
export function remoteStorage(socket: SocketLike): Storage {
  let next = 1
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  socket.addEventListener('message', (event) => {
    bytesOf(event.data).then((bytes) => {
      const reply = decodeCbor<Reply>(bytes)
      const waiter = pending.get(reply.id)
      pending.delete(reply.id)
      if (reply.ok) waiter?.resolve(reply.value)
      else
        waiter?.reject(
          reply.code
            ? new StorageError(reply.code as StorageError['code'], reply.message)
            : new Error(reply.message),
        )
    })
  })
  const lost = () => {
    for (const waiter of pending.values()) waiter.reject(new Error('remote storage: connection lost'))
    pending.clear()
  }
  socket.addEventListener('close', lost)
  socket.addEventListener('error', lost)
  const request = <T>(op: Op, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      socket.send(encodeCbor({ id, op, args } satisfies Request))
    })
  return {
    load: () => request('load'),
    save: (batch) => request('save', batch),
    entries: (lo, hi) => request('entries', lo, hi),
    term: async (index) => (await request<number | null>('term', index)) ?? undefined,
    async writeSnapshot(meta, chunks, options) {
      const parts: Uint8Array[] = []
      for await (const chunk of chunks) parts.push(chunk)
      return request('writeSnapshot', meta, parts, options ?? {})
    },
    async beginSnapshot(meta): Promise<SnapshotWriter> {
      const handle = await request<number>('beginSnapshot', meta)
      let size = 0
      return {
        meta,
        get size() {
          return size
        },
        async write(offset, bytes) {
          await request('snapshotWrite', handle, offset, bytes)
          size = offset + bytes.length
        },
        commit: (options) => request('snapshotCommit', handle, options ?? {}),
        abort: () => request('snapshotAbort', handle),
      }
    },
    async readSnapshot(): Promise<StoredSnapshot | null> {
      const snap = await request<{
        meta: StoredSnapshot['meta']
        size: number
        chunks: Uint8Array[]
        handle: number
      } | null>('readSnapshot')
      if (!snap) return null
      return {
        meta: snap.meta,
        size: snap.size,
        async *chunks() {
          yield* snap.chunks
        },
        read: (offset, length) => request<Uint8Array>('snapshotRead', snap.handle, offset, length),
      }
    },
    compact: (index) => request('compact', index),
    close: () => request('close'),
  }
}
