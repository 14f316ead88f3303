import { MessageType } from '../raft/messages.js'
import type { FaultPeer, FaultWorld } from './fault-world.js'
import type { Rng } from './rng.js'

/**
 * Heartbeat acknowledgements are late by 0.2 to 0.6 election timeouts for `duration`: ReadIndex
 * reads wait at the leader meanwhile (and leases lapse, so lease reads join them), while writes,
 * acknowledged by appends, keep completing. A leader that answered a later read at an earlier
 * read's index would miss those writes.
 */
export function slowReadAcks<P extends FaultPeer>(world: FaultWorld<P>, rng: Rng, duration: number): void {
  const { electionTick, tickMs } = world.timing
  const max = electionTick * tickMs * (0.2 + rng.next() * 0.4)
  world.delays.push({ type: MessageType.HeartbeatResp, until: world.now + duration, min: max / 2, max })
  world.trace(`heartbeat acks late by up to ${max.toFixed(0)} ms for ${duration} ms`)
}
