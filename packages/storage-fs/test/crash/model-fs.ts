import { StorageError } from '@flotilla/core'
import type { File, FileLock, FileSystem, OpenMode } from '../../src/file-system.js'

/**
 * An in-memory file system that keeps, besides what a process sees, what a power loss would
 * leave: a file's contents only as of its last fsync/fdatasync, a directory's entries only as of
 * the directory's last fsync. Every operation that changes something is numbered; `beforeOp`
 * sees each one before it runs, and `crashAt` makes it and everything after fail, as if the
 * process had died there. `killImage()` is the disk after kill -9 (the page cache survives, but
 * what is not synced is still not durable); `powerLossImage()` the disk after a power loss.
 */
interface FileNode {
  kind: 'file'
  data: Buffer
  durable: Buffer
}

interface DirNode {
  kind: 'dir'
  entries: Map<string, Node>
  durable: Map<string, Node>
}

type Node = FileNode | DirNode

export class CrashError extends Error {
  readonly code = 'ECRASH'
}

const fsError = (code: string, op: string, path: string) =>
  Object.assign(new Error(`${code}: ${op} '${path}'`), { code })

const newDir = (): DirNode => ({ kind: 'dir', entries: new Map(), durable: new Map() })

export class ModelFs implements FileSystem {
  /** Operations that changed something so far (each one a crash point). */
  ops = 0
  /** Fail operation number `crashAt` and every later one. */
  crashAt: number | null = null
  beforeOp?: (n: number, what: string) => void
  private crashed = false
  private readonly locks = new Set<string>()

  constructor(private readonly root: DirNode = newDir()) {}

  killImage(): ModelFs {
    return new ModelFs(cloneTree(this.root, new Map(), 'kill') as DirNode)
  }

  powerLossImage(): ModelFs {
    return new ModelFs(cloneTree(this.root, new Map(), 'power') as DirNode)
  }

  /** A power loss that caught an append half written: the first half of each file's unsynced appended bytes survives. */
  tornImage(): ModelFs {
    return new ModelFs(cloneTree(this.root, new Map(), 'torn') as DirNode)
  }

  private step(what: string): void {
    if (this.crashed) throw new CrashError(`crashed before ${what}`)
    this.beforeOp?.(this.ops, what)
    if (this.crashAt === this.ops) {
      this.crashed = true
      throw new CrashError(`crashed before ${what}`)
    }
    this.ops++
  }

  private alive(): void {
    if (this.crashed) throw new CrashError('crashed')
  }

  private walk(path: string): { parent: DirNode; name: string; node: Node | undefined } {
    const parts = path.split('/').filter((p) => p.length > 0)
    const name = parts.pop() ?? ''
    let dir = this.root
    for (const p of parts) {
      const next = dir.entries.get(p)
      if (!next) throw fsError('ENOENT', 'walk', path)
      if (next.kind !== 'dir') throw fsError('ENOTDIR', 'walk', path)
      dir = next
    }
    return { parent: dir, name, node: dir.entries.get(name) }
  }

  private dir(path: string): DirNode {
    if (path.split('/').every((p) => p.length === 0)) return this.root
    const { node } = this.walk(path)
    if (!node) throw fsError('ENOENT', 'opendir', path)
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'opendir', path)
    return node
  }

  private file(path: string, op: string): FileNode {
    const { node } = this.walk(path)
    if (!node) throw fsError('ENOENT', op, path)
    if (node.kind !== 'file') throw fsError('EISDIR', op, path)
    return node
  }

  async mkdir(path: string): Promise<boolean> {
    this.alive()
    const parts = path.split('/').filter((p) => p.length > 0)
    let dir = this.root
    let created = false
    for (const p of parts) {
      let next = dir.entries.get(p)
      created = false
      if (!next) {
        this.step(`mkdir ${path}`)
        next = newDir()
        dir.entries.set(p, next)
        created = true
      }
      if (next.kind !== 'dir') throw fsError('ENOTDIR', 'mkdir', path)
      dir = next
    }
    return created
  }

  async readdir(path: string): Promise<string[]> {
    this.alive()
    return [...this.dir(path).entries.keys()].sort()
  }

  async readFile(path: string): Promise<Buffer> {
    this.alive()
    return Buffer.from(this.file(path, 'open').data)
  }

  async open(path: string, mode: OpenMode): Promise<File> {
    this.alive()
    const { parent, name, node } = this.walk(path)
    if (mode === 'read' || mode === 'update') return new ModelFile(this, this.file(path, 'open'), path)
    if (node && mode === 'create') throw fsError('EEXIST', 'open', path)
    if (node?.kind === 'dir') throw fsError('EISDIR', 'open', path)
    this.step(`${mode} ${path}`)
    if (node) {
      node.data = Buffer.alloc(0)
      return new ModelFile(this, node, path)
    }
    const file: FileNode = { kind: 'file', data: Buffer.alloc(0), durable: Buffer.alloc(0) }
    parent.entries.set(name, file)
    return new ModelFile(this, file, path)
  }

  async rename(from: string, to: string): Promise<void> {
    this.alive()
    const src = this.walk(from)
    if (!src.node) throw fsError('ENOENT', 'rename', from)
    const dst = this.walk(to)
    this.step(`rename ${from} ${to}`)
    src.parent.entries.delete(src.name)
    dst.parent.entries.set(dst.name, src.node)
  }

  async unlink(path: string): Promise<void> {
    this.alive()
    const { parent, name } = this.walk(path)
    this.file(path, 'unlink')
    this.step(`unlink ${path}`)
    parent.entries.delete(name)
  }

  async syncDir(path: string): Promise<void> {
    this.alive()
    const dir = this.dir(path)
    this.step(`fsync dir ${path}`)
    dir.durable = new Map(dir.entries)
  }

  async lock(path: string): Promise<FileLock> {
    this.alive()
    if (this.locks.has(path)) throw new StorageError('ERR_LOCKED', `${path} is locked by another open store`)
    const { parent, name, node } = this.walk(path)
    if (!node) parent.entries.set(name, { kind: 'file', data: Buffer.alloc(0), durable: Buffer.alloc(0) })
    this.locks.add(path)
    return { release: async () => void this.locks.delete(path) }
  }

  /** For ModelFile: a numbered operation on an open file. */
  fileStep(what: string): void {
    this.step(what)
  }

  checkAlive(): void {
    this.alive()
  }
}

class ModelFile implements File {
  constructor(
    private readonly fs: ModelFs,
    private readonly node: FileNode,
    private readonly path: string,
  ) {}

  async write(bytes: Uint8Array, position: number): Promise<void> {
    this.fs.fileStep(`write ${this.path} @${position} +${bytes.length}`)
    const end = position + bytes.length
    if (end > this.node.data.length) {
      const grown = Buffer.alloc(end)
      this.node.data.copy(grown)
      this.node.data = grown
    }
    this.node.data.set(bytes, position)
  }

  async read(position: number, length: number): Promise<Buffer> {
    this.fs.checkAlive()
    return Buffer.from(this.node.data.subarray(position, position + length))
  }

  async size(): Promise<number> {
    this.fs.checkAlive()
    return this.node.data.length
  }

  async truncate(length: number): Promise<void> {
    this.fs.fileStep(`truncate ${this.path} ${length}`)
    const cut = Buffer.alloc(length)
    this.node.data.copy(cut, 0, 0, length)
    this.node.data = cut
  }

  async datasync(): Promise<void> {
    this.fs.fileStep(`fdatasync ${this.path}`)
    this.node.durable = Buffer.from(this.node.data)
  }

  async sync(): Promise<void> {
    this.fs.fileStep(`fsync ${this.path}`)
    this.node.durable = Buffer.from(this.node.data)
  }

  async close(): Promise<void> {}
}

/** Copies the tree as a kill, a power loss or a power loss in the middle of an append leaves it. */
function cloneTree(node: Node, seen: Map<Node, Node>, how: 'kill' | 'power' | 'torn'): Node {
  const done = seen.get(node)
  if (done) return done
  if (node.kind === 'file') {
    const data = Buffer.from(how === 'kill' ? node.data : survivingBytes(node, how === 'torn'))
    const copy: FileNode = {
      kind: 'file',
      data,
      durable: how === 'kill' ? Buffer.from(node.durable) : Buffer.from(data),
    }
    seen.set(node, copy)
    return copy
  }
  const copy = newDir()
  seen.set(node, copy)
  const clone = (m: Map<string, Node>) => new Map([...m].map(([k, v]) => [k, cloneTree(v, seen, how)]))
  copy.durable = clone(node.durable)
  copy.entries = how === 'kill' ? clone(node.entries) : new Map(copy.durable)
  return copy
}

/** What a power loss leaves of a file: its synced bytes, and with `torn` half of what it appended since. */
function survivingBytes(node: FileNode, torn: boolean): Buffer {
  const { data, durable } = node
  const appended = data.length > durable.length && data.subarray(0, durable.length).equals(durable)
  if (!torn || !appended) return durable
  return data.subarray(0, durable.length + Math.floor((data.length - durable.length) / 2))
}
