/** The Raft snapshot shape the snapshotter stores, from src/raft/types.ts. Types only. */
export type { ConfState, Snapshot } from "../raft/types.ts";
