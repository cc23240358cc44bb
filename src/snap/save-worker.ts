/**
 * Worker side of `Snapshotter.saveInBackground`: writes one snapshot row with its own sqlite
 * connection, so a large snapshot's write and fsync do not stall the member's event loop.
 * Messages in: `SaveRequest`; out: `SaveReply`.
 */
import { openSnapshotDb, type SaveReply, type SaveRequest, writeRow } from "./snapshot-db.ts";

declare const self: Worker;

let db: ReturnType<typeof openSnapshotDb> | undefined;

self.onmessage = (event: MessageEvent<SaveRequest>) => {
  const req = event.data;
  let reply: SaveReply;
  try {
    db ??= openSnapshotDb(req.dbPath);
    writeRow(db, req.meta, req.data);
    reply = { ok: true };
  } catch (error) {
    reply = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
