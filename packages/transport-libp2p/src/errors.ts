/** A frame that cannot be read: the stream it came on is closed, the peer goes on. */
export class FrameError extends Error {
  constructor(
    readonly code: 'ERR_FRAME_TOO_LARGE' | 'ERR_FRAME_LENGTH' | 'ERR_FRAME_EMPTY' | 'ERR_FRAME_FRAGMENTED',
    message: string,
  ) {
    super(message)
    this.name = 'FrameError'
  }
}

export class TransportError extends Error {
  constructor(
    readonly code: 'ERR_TRANSPORT_CLOSED' | 'ERR_BAD_PEER_ID' | 'ERR_CONFIG' | 'ERR_NOT_MEMBER',
    message: string,
  ) {
    super(message)
    this.name = 'TransportError'
  }
}
