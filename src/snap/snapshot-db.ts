/**
 * The snapshot database's schema and row format, shared by the Snapshotter and its save worker
 * (each opens its own connection; sqlite serialises their writes).
 */
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, openSync } from "node:fs";
import { assert } from "../util/assert.ts";
import { crc32 } from "../util/crc.ts";
import type { Snapshot } from "./types.ts";

/** The mode of etcd's data files: the snapshots hold every key and the users' hashes. */
const FILE_MODE = 0o600;

type SnapshotMeta = Snapshot["meta"];

export interface Row {
  term: number;
  idx: number;
  conf_state: string;
  data: Uint8Array;
  crc: number;
}

/** What the save worker is asked to write, and what it answers. */
export interface SaveRequest {
  readonly dbPath: string;
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}
export type SaveReply = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** How long a connection waits for the other one's write lock before failing. */
const BUSY_TIMEOUT_MS = 30_000;
const textEncoder = new TextEncoder();

/** CRC-32 over everything a row stores, so a damaged term, index or confState is caught too. */
export function rowCrc(term: number, index: number, confStateJson: string, data: Uint8Array) {
  return crc32(data, crc32(textEncoder.encode(`${term}/${index}/${confStateJson}`)));
}

export function openSnapshotDb(file: string): Database {
  // sqlite would create the file with the umask's mode (0644). It holds the whole store, so it
  // is made 0600 first, as etcd's files are; sqlite gives its -wal and -shm files that mode.
  closeSync(openSync(file, "a", FILE_MODE));
  chmodSync(file, FILE_MODE);
  const db = new Database(file, { create: true, strict: true });
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec(
    `CREATE TABLE IF NOT EXISTS snapshot (
      term INTEGER NOT NULL,
      idx INTEGER NOT NULL,
      conf_state TEXT NOT NULL,
      data BLOB NOT NULL,
      crc INTEGER NOT NULL,
      UNIQUE (idx, term)
    )`,
  );
  return db;
}

/**
 * Stores one snapshot durably (replacing a row with the same index and term), then folds the
 * sqlite journal back into the database file: without it the `-wal` file grows as large as
 * the database and the data dir holds every snapshot twice.
 */
export function writeRow(db: Database, meta: SnapshotMeta, data: Uint8Array): void {
  const { index, term, confState } = meta;
  assert(Number.isSafeInteger(index) && index >= 0, `snap: bad index ${index}`);
  assert(Number.isSafeInteger(term) && term >= 0, `snap: bad term ${term}`);
  const confJson = JSON.stringify({ voters: [...confState.voters] });
  const crc = rowCrc(term, index, confJson, data);
  db.query(
    `INSERT OR REPLACE INTO snapshot (term, idx, conf_state, data, crc)
     VALUES ($term, $idx, $conf, $data, $crc)`,
  ).run({ term, idx: index, conf: confJson, data, crc });
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}
