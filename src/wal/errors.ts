/**
 * Expected WAL failures: on-disk corruption or misuse of a directory. Bugs are assertions,
 * not WalErrors. Messages start with `wal:` (as etcd's do) and name the file and offset.
 */
export class WalError extends Error {
  override name = "WalError";
}
