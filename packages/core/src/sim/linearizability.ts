/**
 * A linearizability checker for a register-per-key model, after Wing & Gong with Lowe's
 * memoization (the algorithm porcupine uses). History is partitioned by key; each partition is
 * searched depth-first for an order of operations that respects real time and the register's
 * semantics. An operation whose outcome is unknown may take effect at any point after its call.
 */
export interface Operation {
  id: number
  key: string
  kind: 'put' | 'get'
  /** put: the value written; get: the value read (null: key absent). */
  value: string | null
  call: number
  /** Infinity when the outcome is unknown. */
  ret: number
}

export interface CheckResult {
  ok: boolean
  /** The key whose history has no linearization. */
  key?: string
  /** True if the search gave up (result unknown); counted as a failure to be safe. */
  timedOut?: boolean
}

interface Node {
  op: Operation
  isCall: boolean
  match: Node | null
  prev: Node | null
  next: Node | null
}

export function checkLinearizable(history: Operation[], budget = 2_000_000): CheckResult {
  const byKey = new Map<string, Operation[]>()
  for (const op of history) {
    const list = byKey.get(op.key)
    if (list) list.push(op)
    else byKey.set(op.key, [op])
  }
  for (const [key, ops] of byKey) {
    const r = checkRegister(ops, budget)
    if (r !== 'ok') return { ok: false, key, timedOut: r === 'timeout' }
  }
  return { ok: true }
}

function buildList(ops: Operation[]): Node {
  const events: { time: number; isCall: boolean; op: Operation }[] = []
  for (const op of ops) {
    events.push({ time: op.call, isCall: true, op })
    events.push({ time: op.ret, isCall: false, op })
  }
  // Calls sort before returns at the same instant: such operations count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op.id - b.op.id : a.isCall ? -1 : 1))
  const head: Node = { op: ops[0], isCall: false, match: null, prev: null, next: null }
  let tail = head
  const calls = new Map<number, Node>()
  for (const e of events) {
    const node: Node = { op: e.op, isCall: e.isCall, match: null, prev: tail, next: null }
    tail.next = node
    tail = node
    if (e.isCall) calls.set(e.op.id, node)
    else {
      const call = calls.get(e.op.id)!
      call.match = node
      node.match = call
    }
  }
  return head
}

function lift(call: Node): void {
  call.prev!.next = call.next
  if (call.next) call.next.prev = call.prev
  const ret = call.match!
  ret.prev!.next = ret.next
  if (ret.next) ret.next.prev = ret.prev
}

function unlift(call: Node): void {
  const ret = call.match!
  ret.prev!.next = ret
  if (ret.next) ret.next.prev = ret
  call.prev!.next = call
  if (call.next) call.next.prev = call
}

function checkRegister(ops: Operation[], budget: number): 'ok' | 'fail' | 'timeout' {
  const index = new Map<number, number>()
  for (let i = 0; i < ops.length; i++) index.set(ops[i].id, i)
  const head = buildList(ops)
  const linearized = new Uint8Array(ops.length)
  const seen = new Set<string>()
  const stack: { node: Node; state: string | null }[] = []
  let state: string | null = null
  let entry = head.next
  let steps = 0
  while (head.next !== null) {
    if (++steps > budget) return 'timeout'
    if (entry === null) return 'fail'
    if (entry.isCall) {
      const op = entry.op
      let ok: boolean
      let next: string | null
      if (op.kind === 'put') {
        ok = true
        next = op.value
      } else {
        ok = op.value === state
        next = state
      }
      if (ok) {
        const i = index.get(op.id)!
        linearized[i] = 1
        const key = `${cacheKey(linearized)}|${next}`
        if (!seen.has(key)) {
          seen.add(key)
          stack.push({ node: entry, state })
          state = next
          lift(entry)
          entry = head.next
          continue
        }
        linearized[i] = 0
      }
      entry = entry.next
    } else {
      const top = stack.pop()
      if (!top) return 'fail'
      state = top.state
      linearized[index.get(top.node.op.id)!] = 0
      unlift(top.node)
      entry = top.node.next
    }
  }
  return 'ok'
}

function cacheKey(bits: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bits.length; i += 16) {
    let word = 0
    for (let j = 0; j < 16 && i + j < bits.length; j++) if (bits[i + j]) word |= 1 << j
    s += String.fromCharCode(word)
  }
  return s
}
