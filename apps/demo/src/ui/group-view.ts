import type { MemberStatus, PeerStatus } from '@flotilla/core'
import { esc, formatMs, peerColour, shortId } from './dom.js'

/** What the group panel shows: this peer's status, and the leader's view of the members' lag. */
export interface GroupSnapshot {
  self: PeerStatus
  /** The leader's status when known (this peer's own if it leads). */
  leaderView: PeerStatus | null
}

function memberLabel(m: MemberStatus, self: PeerStatus): string {
  if (m.id === self.id) return 'this tab'
  if (m.kind === 'witness') return 'Node witness'
  return m.kind
}

function lagOf(m: MemberStatus): { text: string; cls: string } {
  if (m.lagEntries === undefined) return { text: '—', cls: '' }
  if (m.state === 'probe' && (m.lagEntries ?? 0) > 0) return { text: `${m.lagEntries} behind`, cls: 'bad' }
  if (m.lagEntries === 0) return { text: 'caught up', cls: 'good' }
  return { text: `${m.lagEntries} entries · ${formatMs(m.lagMs)}`, cls: 'warn' }
}

/** The members as a ring around the leader's spokes. */
function ring(members: MemberStatus[], snap: GroupSnapshot): string {
  const { self } = snap
  const size = 220
  const c = size / 2
  const r = 78
  const pos = new Map<string, { x: number; y: number }>()
  members.forEach((m, i) => {
    const a = (i / Math.max(1, members.length)) * Math.PI * 2 - Math.PI / 2
    pos.set(m.id, { x: c + r * Math.cos(a), y: c + r * Math.sin(a) })
  })
  const leader = self.leader ? pos.get(self.leader) : undefined
  const spokes = leader
    ? members
        .filter((m) => m.id !== self.leader)
        .map((m) => {
          const p = pos.get(m.id)!
          const lag = lagOf(m).cls || 'good'
          return `<line class="spoke ${lag}" x1="${leader.x}" y1="${leader.y}" x2="${p.x}" y2="${p.y}"/>`
        })
        .join('')
    : ''
  const nodes = members
    .map((m) => {
      const p = pos.get(m.id)!
      const isLeader = m.id === self.leader
      const shape =
        m.kind === 'witness'
          ? `<rect x="${p.x - 13}" y="${p.y - 13}" width="26" height="26" rx="6" fill="#1c2541" stroke="#8fa3c7" stroke-width="2"/>`
          : `<circle cx="${p.x}" cy="${p.y}" r="${isLeader ? 17 : 14}" fill="${peerColour(m.id)}" ${
              isLeader ? 'stroke="#ffd166" stroke-width="4"' : ''
            }/>`
      const note = m.id === self.id ? 'you' : m.kind === 'witness' ? 'witness' : ''
      const crown = isLeader ? `<text x="${p.x}" y="${p.y - 24}" class="crown">★</text>` : ''
      const noteText = note ? `<text x="${p.x}" y="${p.y + 44}" class="node-note">${note}</text>` : ''
      return `${shape}${crown}<text x="${p.x}" y="${p.y + 31}" class="node-label">${esc(shortId(m.id))}</text>${noteText}`
    })
    .join('')
  const centre = self.leader
    ? `<text x="${c}" y="${c - 4}" class="ring-term">term ${self.term}</text><text x="${c}" y="${c + 14}" class="ring-sub">commit ${self.commit}</text>`
    : `<text x="${c}" y="${c + 4}" class="ring-term warn">electing…</text>`
  return `<svg viewBox="-16 -4 ${size + 32} ${size + 28}" class="ring" role="img" aria-label="group members">${spokes}${nodes}${centre}</svg>`
}

export function renderGroup(snap: GroupSnapshot): string {
  const { self } = snap
  const members = (snap.leaderView ?? self).members
  const byId = new Map(members.map((m) => [m.id, m]))
  const rows = self.members
    .map((m) => byId.get(m.id) ?? m)
    .map((m) => {
      const lag = m.id === self.leader ? { text: 'leader', cls: 'lead' } : lagOf(m)
      return `<tr class="${m.id === self.id ? 'me' : ''}">
        <td><span class="dot" style="background:${m.kind === 'witness' ? '#8fa3c7' : peerColour(m.id)}"></span>${esc(shortId(m.id))}</td>
        <td>${esc(memberLabel(m, self))}</td>
        <td>${m.id === self.leader ? '<b class="lead">leader</b>' : 'follower'}</td>
        <td class="num">${m.match ?? '—'}</td>
        <td class="${lag.cls}">${esc(lag.text)}</td>
      </tr>`
    })
    .join('')
  const stat = (label: string, value: string, cls = '') =>
    `<div class="stat ${cls}"><div class="stat-value">${value}</div><div class="stat-label">${label}</div></div>`
  return `
    <div class="group-top">
      ${ring(self.members, snap)}
      <div class="stats">
        ${stat('term', String(self.term))}
        ${stat('leader', esc(shortId(self.leader)), self.leader ? '' : 'warn')}
        ${stat('commit', String(self.commit))}
        ${stat('applied', String(self.applied))}
        ${stat('this tab', esc(self.raftRole))}
        ${stat('proven staleness', esc(formatMs(self.stalenessBoundMs)), self.stalenessBoundMs === null ? 'warn' : '')}
      </div>
    </div>
    <table class="members">
      <thead><tr><th>peer</th><th>kind</th><th>role</th><th class="num">match</th><th>lag</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>
    ${snap.leaderView ? '' : '<p class="hint">Match and lag come from the leader; waiting for it.</p>'}`
}
