/** The WAL's public surface. */
export { WalError } from "./errors.ts";
export { DEFAULT_SEGMENT_SIZE_BYTES } from "./segment-file.ts";
export type { WriterKind } from "./segment-writer.ts";
export type { Entry, HardState, SnapshotMarker, WalMetadata } from "./types.ts";
export { Wal, type WalOpenResult, type WalOptions } from "./wal.ts";
