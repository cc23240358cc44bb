import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SNAP_DB_FILE, type Snapshot, Snapshotter } from "../../src/snap/index.ts";

function snap(index: number, term: number, sizeBytes = 64): Snapshot {
  const data = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) data[i] = (index + i) & 0xff;
  return { meta: { index, term, confState: { voters: ["a", `n${index}`] } }, data };
}

describe("Snapshotter", () => {
  let root = "";
  let dir = "";
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-bun-snap-"));
    dir = path.join(root, "member", "snap");
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test("empty store loads nothing", () => {
    const s = new Snapshotter(dir);
    expect(s.loadNewest()).toBeUndefined();
    expect(s.loadAt(1, 1)).toBeUndefined();
    s.close();
  });

  test("a background save is durable when it resolves, interleaved with reads and saves here", async () => {
    const s = new Snapshotter(dir, { log: () => {} });
    s.save(snap(5, 1));
    await s.saveInBackground(snap(10, 1, 1 << 20));
    expect(s.loadNewest()).toEqual(snap(10, 1, 1 << 20));
    const pending = s.saveInBackground(snap(20, 2));
    // One at a time: a second call while the first runs is a caller bug.
    await expect(s.saveInBackground(snap(30, 2))).rejects.toThrow("already running");
    await pending;
    expect(s.list()).toEqual([
      { index: 20, term: 2 },
      { index: 10, term: 1 },
      { index: 5, term: 1 },
    ]);
    s.close();
    const again = new Snapshotter(dir);
    expect(again.loadNewest()).toEqual(snap(20, 2));
    again.close();
  });

  test("a background save of shared memory stores it unchanged, without taking it", async () => {
    const s = new Snapshotter(dir, { log: () => {} });
    const plain = snap(40, 3, 300_000);
    const shared = new Uint8Array(new SharedArrayBuffer(plain.data.length + 100));
    shared.set(plain.data);
    const view = shared.subarray(0, plain.data.length);
    await s.saveInBackground({ meta: plain.meta, data: view });
    expect(view.length).toBe(plain.data.length);
    expect(s.loadNewest()).toEqual(plain);
    s.close();
  });

  test("save, loadNewest and loadAt round-trip, also after reopening", () => {
    const s = new Snapshotter(dir);
    s.save(snap(10, 1));
    s.save(snap(30, 2, 1 << 20));
    s.save(snap(20, 2));
    expect(s.loadNewest()).toEqual(snap(30, 2, 1 << 20));
    expect(s.loadAt(10, 1)).toEqual(snap(10, 1));
    expect(s.loadAt(10, 2)).toBeUndefined();
    s.close();
    const again = new Snapshotter(dir);
    expect(again.loadNewest()?.meta).toEqual(snap(30, 2).meta);
    const mode = fs.readFileSync(path.join(dir, SNAP_DB_FILE)).subarray(0, 16).toString();
    expect(mode).toBe("SQLite format 3\0");
    again.close();
  });

  test("the database and its journal files are 0600, also when an older one was not", () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, SNAP_DB_FILE), "", { mode: 0o644 });
    const s = new Snapshotter(dir);
    s.save(snap(10, 1));
    const modes = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith(SNAP_DB_FILE))
      .map((n) => [n, (fs.statSync(path.join(dir, n)).mode & 0o777).toString(8)]);
    expect(modes.length).toBeGreaterThanOrEqual(2);
    for (const [name, mode] of modes) expect(`${name} ${mode}`).toBe(`${name} 600`);
    s.close();
  });

  test("saving the same index and term again replaces the row", () => {
    const s = new Snapshotter(dir);
    s.save(snap(5, 1, 10));
    s.save(snap(5, 1, 20));
    expect(s.loadNewest()?.data.length).toBe(20);
    s.close();
  });

  test("prune keeps the newest maxSnapshots; 0 keeps all", () => {
    const s = new Snapshotter(dir);
    for (let i = 1; i <= 7; i++) s.save(snap(i * 10, 1));
    expect(s.prune(0)).toBe(0);
    expect(s.prune(3)).toBe(4);
    expect(s.loadAt(40, 1)).toBeUndefined();
    expect(s.loadAt(50, 1)).toEqual(snap(50, 1));
    expect(s.loadNewest()).toEqual(snap(70, 1));
    s.close();
  });

  test("a corrupted newest row is skipped (and logged) for the next older", () => {
    const logs: string[] = [];
    const s = new Snapshotter(dir, { log: (m) => logs.push(m) });
    s.save(snap(10, 1));
    s.save(snap(20, 1));
    s.close();
    const db = new Database(path.join(dir, SNAP_DB_FILE));
    db.query("UPDATE snapshot SET data = zeroblob(64) WHERE idx = 20").run();
    db.close();
    const again = new Snapshotter(dir, { log: (m) => logs.push(m) });
    expect(again.loadNewest()).toEqual(snap(10, 1));
    expect(again.loadAt(20, 1)).toBeUndefined();
    expect(logs.length).toBe(2);
    expect(logs[0]).toContain("crc mismatch");
    expect(logs[0]).toContain("index 20");
    again.close();
  });

  test("a corrupted confState or term is caught by the crc", () => {
    const s = new Snapshotter(dir, { log: () => {} });
    s.save(snap(10, 1));
    s.save(snap(20, 1));
    s.save(snap(30, 1));
    s.close();
    const db = new Database(path.join(dir, SNAP_DB_FILE));
    db.query(`UPDATE snapshot SET conf_state = '{"voters":["evil"]}' WHERE idx = 30`).run();
    db.query("UPDATE snapshot SET term = 5 WHERE idx = 20").run();
    db.close();
    const again = new Snapshotter(dir, { log: () => {} });
    expect(again.loadNewest()).toEqual(snap(10, 1));
    again.close();
  });
});
