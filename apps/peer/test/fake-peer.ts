import type { CollectionHandle, Peer, PeerMetrics, PeerStatus, ReadInfo, StoredPoint } from '@flotilla/core'

/**
 * A unit-test double of `Peer` for the HTTP layer only: it records each call and answers what
 * the test sets, or throws what the test sets. The real-process tests use the real openPeer.
 */
export class FakePeer implements Peer {
  readonly id = 'fake-peer'
  readonly role = 'data' as const
  calls: Array<{ op: string; args: unknown[] }> = []
  /** Thrown by the next call instead of answering. */
  fail: Error | null = null
  points = new Map<string, StoredPoint>()
  statusValue: PeerStatus = {
    id: 'fake-peer',
    role: 'data',
    raftRole: 'leader',
    state: 'running',
    term: 3,
    leader: 'fake-peer',
    commit: 10,
    applied: 10,
    firstIndex: 1,
    lastIndex: 10,
    snapshotIndex: 0,
    members: [{ id: 'fake-peer', kind: 'voter' }],
    joint: false,
    leaseValid: true,
    stalenessBoundMs: 0,
  }
  readInfo: ReadInfo = { index: 10, peer: 'fake-peer', consistency: 'linearizable', stalenessMs: 0 }

  private async record<T>(op: string, args: unknown[], value: T): Promise<T> {
    this.calls.push({ op, args })
    if (this.fail) {
      const e = this.fail
      this.fail = null
      throw e
    }
    return value
  }

  createCollection(...args: unknown[]) {
    return this.record('createCollection', args, { index: 11, created: true })
  }
  dropCollection(...args: unknown[]) {
    return this.record('dropCollection', args, { index: 12, dropped: true })
  }
  listCollections(...args: unknown[]) {
    return this.record('listCollections', args, { ...this.readInfo, collections: [] })
  }
  collection(name: string): CollectionHandle {
    const rec = <T>(op: string, args: unknown[], value: T) => this.record(op, [name, ...args], value)
    return {
      name,
      upsert: ((...args: unknown[]) =>
        rec('upsert', args, { index: 13, upserted: 1 })) as CollectionHandle['upsert'],
      update: (...args: unknown[]) =>
        rec('update', args, { index: 14, updated: this.points.has(args[0] as string) }),
      delete: (...args: unknown[]) =>
        rec('delete', args, { index: 15, deleted: this.points.has(args[0] as string) ? 1 : 0 }),
      get: (...args: unknown[]) =>
        rec('get', args, { ...this.readInfo, point: this.points.get(args[0] as string) ?? null }),
      search: (...args: unknown[]) =>
        rec('search', args, { ...this.readInfo, hits: [{ id: 'a', distance: 0.5, metadata: { t: 1 } }] }),
      count: (...args: unknown[]) => rec('count', args, { ...this.readInfo, count: this.points.size }),
    }
  }
  addMember(...args: unknown[]) {
    return this.record('addMember', args, { index: 20 })
  }
  removeMember(...args: unknown[]) {
    return this.record('removeMember', args, { index: 21 })
  }
  changeMembers(...args: unknown[]) {
    return this.record('changeMembers', args, { index: 22 })
  }
  transferLeadership(...args: unknown[]) {
    return this.record('transferLeadership', args, undefined)
  }
  isMember() {
    return true
  }
  status() {
    return this.statusValue
  }
  metrics(): PeerMetrics {
    const h = { buckets: [0.001, 0.01], counts: [2, 3, 4], sum: 0.05, count: 4 }
    return {
      term: 3,
      role: 'leader',
      commitIndex: 10,
      appliedIndex: 9,
      replicationLag: { other: { entries: 2, seconds: 0.01 } },
      snapshotBytes: 0,
      proposals: { ok: 5, ERR_TIMEOUT: 1 },
      reads: { 'linearizable:ok': 3 },
      electionsStarted: 1,
      electionsWon: 1,
      snapshotsTaken: 0,
      snapshotsSent: 0,
      snapshotsInstalled: 0,
      messagesSent: { Append: 7 },
      messagesReceived: { AppendResponse: 7 },
      messagesDropped: {},
      fsyncSeconds: h,
      applySeconds: h,
    }
  }
  on() {
    return () => {}
  }
  async close() {}
}
