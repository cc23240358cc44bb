/** The snapshot store's public surface. */
export { SNAP_DB_FILE, Snapshotter, type SnapshotterOptions } from "./snapshotter.ts";
export type { ConfState, Snapshot } from "./types.ts";
