/**
 * What a Deno peer with storage-fs needs: files, the crc32c addon (@node-rs/crc32, loaded
 * through Node-API, hence FFI) and environment reads (cbor-x and napi-rs probe variables at load).
 * Permissions only: no --unstable flag.
 */
export const DENO_FS_PERMISSIONS = ['--allow-read', '--allow-write', '--allow-ffi', '--allow-env']

/** A Deno peer: the above, plus the network and the interface list libp2p reads. */
export const DENO_PEER_PERMISSIONS = ['--allow-net', '--allow-sys', ...DENO_FS_PERMISSIONS]
