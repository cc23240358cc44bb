/**
 * The types the WAL persists: Raft's own (from src/raft/types.ts) plus the WAL's metadata and
 * snapshot marker. Types only; no behaviour.
 */
import type { HardState } from "../raft/types.ts";

export type { Entry, HardState, NodeId } from "../raft/types.ts";

/** The identity a WAL is created for; every segment repeats it. */
export interface WalMetadata {
  memberId: string;
  clusterId: string;
}

/** A snapshot marker: the log position a snapshot covers. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

/** The hard state of a log that never saved one. */
export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({
  term: 0,
  vote: "",
  commit: 0,
});
