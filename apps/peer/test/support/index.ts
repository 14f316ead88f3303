export { type HttpAnswer, HttpClient } from './http-client.js'
export { FAST, freePort, PeerProcess, type Status, sleep, TestCluster, until } from './processes.js'
export { stateDigest, type Targets, Workload, type WorkloadOptions } from './workload.js'
