import type { Message, PeerEvent, Transport } from '@flotilla/core'

/**
 * A transport that can be cut off: while offline nothing is sent and nothing received, as if
 * the network were gone. The demo's offline switch and the browser's `offline` event both
 * close it, so "offline" means the same whether a link is a WebSocket or WebRTC.
 */
export class OfflineGate implements Transport {
  offline = false
  dropped = 0

  constructor(private readonly inner: Transport) {}

  get localId(): string {
    return this.inner.localId
  }

  send(message: Message): boolean {
    if (this.offline) {
      this.dropped++
      return false
    }
    return this.inner.send(message)
  }

  onMessage(handler: (message: Message) => void): void {
    this.inner.onMessage((m) => {
      if (this.offline) this.dropped++
      else handler(m)
    })
  }

  onPeerEvent(handler: (event: PeerEvent) => void): void {
    this.inner.onPeerEvent(handler)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
