import type { Peer } from '@flotilla/core'
/**
 * The few routes the Deno and workerd peers answer until apps/peer's Hono app can be mounted
 * in their place: the same paths, query parameters and answer shapes as apps/peer
 * (`/v1/status`, `POST /v1/collections/:name/points`, `POST /v1/collections/:name/search`).
 * Returns null for any other path.
 */
export declare function answerPeerRoute(peer: Peer, request: Request, path: string): Promise<Response | null>
//# sourceMappingURL=peer-routes.d.ts.map
