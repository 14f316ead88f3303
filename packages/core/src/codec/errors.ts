export class CodecError extends Error {
  readonly code = 'ERR_CODEC'
  constructor(message: string) {
    super(message)
    this.name = 'CodecError'
  }
}
