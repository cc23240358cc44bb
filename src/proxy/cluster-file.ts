/**
 * `<data-dir>/proxy/cluster`: the members' peer URLs as the proxy last saw them, in etcd's
 * format (`{"PeerURLs":[...]}`), so a restarted proxy finds the cluster even when the members
 * of its original `--initial-cluster` are all gone. Written to `cluster.bak`, synced, renamed
 * over (as etcd does), so a crash leaves the old file or the new one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

/** The cluster file cannot be read as etcd writes it: the proxy does not start. */
export class ClusterFileError extends Error {
  override name = "ClusterFileError";
}

export function clusterFilePath(proxyDir: string): string {
  return join(proxyDir, "cluster");
}

/** The peer URLs in the file; undefined when there is no file yet. */
export function readClusterFile(path: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ClusterFileError(`cluster file ${path}: ${(error as Error).message}`);
  }
  const urls = (parsed as { PeerURLs?: unknown } | null)?.PeerURLs;
  // etcd's json.Unmarshal takes a missing or null list as empty.
  if (urls === undefined || urls === null) return [];
  if (!Array.isArray(urls) || !urls.every((u) => typeof u === "string")) {
    throw new ClusterFileError(`cluster file ${path}: PeerURLs is not a list of strings`);
  }
  return urls;
}

export function writeClusterFile(path: string, peerUrls: readonly string[]): void {
  const tmp = `${path}.bak`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify({ PeerURLs: peerUrls }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
