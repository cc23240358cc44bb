/**
 * The v2 error model: one table mapping every etcd v2 error code to its message and HTTP
 * status, identical to etcd's `error/error.go`. Pure data; rendering lives in render.ts.
 */

/** Every code etcd defines, including the ones it never emits (kept so the table is complete). */
export const ErrorCode = {
  keyNotFound: 100,
  testFailed: 101,
  notFile: 102,
  noMorePeer: 103,
  notDir: 104,
  nodeExist: 105,
  keyIsPreserved: 106,
  rootReadOnly: 107,
  dirNotEmpty: 108,
  existingPeerAddr: 109,
  unauthorized: 110,
  valueRequired: 200,
  prevValueRequired: 201,
  ttlNaN: 202,
  indexNaN: 203,
  valueOrTtlRequired: 204,
  timeoutNaN: 205,
  nameRequired: 206,
  indexOrValueRequired: 207,
  indexValueMutex: 208,
  invalidField: 209,
  invalidForm: 210,
  refreshValue: 211,
  refreshTtlRequired: 212,
  raftInternal: 300,
  leaderElect: 301,
  watcherCleared: 400,
  eventIndexCleared: 401,
  standbyInternal: 402,
  invalidActiveSize: 403,
  invalidRemoveDelay: 404,
  clientInternal: 500,
} as const;

/** Code → [message, HTTP status]. Codes absent from etcd's status map answer 400. */
const errorTable: ReadonlyMap<number, readonly [string, number]> = new Map([
  [100, ["Key not found", 404]],
  [101, ["Compare failed", 412]],
  [102, ["Not a file", 403]],
  [103, ["Reached the max number of peers in the cluster", 400]],
  [104, ["Not a directory", 400]],
  [105, ["Key already exists", 412]],
  [106, ["The prefix of given key is a keyword in etcd", 400]],
  [107, ["Root is read only", 400]],
  [108, ["Directory not empty", 403]],
  [109, ["Peer address has existed", 400]],
  [110, ["The request requires user authentication", 401]],
  [200, ["Value is Required in POST form", 400]],
  [201, ["PrevValue is Required in POST form", 400]],
  [202, ["The given TTL in POST form is not a number", 400]],
  [203, ["The given index in POST form is not a number", 400]],
  [204, ["Value or TTL is required in POST form", 400]],
  [205, ["The given timeout in POST form is not a number", 400]],
  [206, ["Name is required in POST form", 400]],
  [207, ["Index or value is required", 400]],
  [208, ["Index and value cannot both be specified", 400]],
  [209, ["Invalid field", 400]],
  [210, ["Invalid POST form", 400]],
  [211, ["Value provided on refresh", 400]],
  [212, ["A TTL must be provided on refresh", 400]],
  [300, ["Raft Internal Error", 500]],
  [301, ["During Leader Election", 500]],
  [400, ["watcher is cleared due to etcd recovery", 400]],
  [401, ["The event in requested index is outdated and cleared", 400]],
  [402, ["Standby Internal Error", 400]],
  [403, ["Invalid active size", 400]],
  [404, ["Standby remove delay", 400]],
  [500, ["Client Internal Error", 400]],
]);

/** All codes of the table, ascending (for tests and documentation). */
export const allErrorCodes: readonly number[] = [...errorTable.keys()];

/** The message etcd prints for `code` ("" for a code etcd does not define, as Go's map would). */
export function errorMessage(code: number): string {
  return errorTable.get(code)?.[0] ?? "";
}

/** The HTTP status for `code`: etcd's status map, 400 for everything else. */
export function errorStatus(code: number): number {
  return errorTable.get(code)?.[1] ?? 400;
}

/**
 * An expected failure of a v2 operation. `cause` may be "" (then omitted from JSON); `index` is
 * the store index at the failure (0 for request-parse errors).
 */
export class EtcdError extends Error {
  override name = "EtcdError";
  readonly code: number;
  // `cause` shadows Error.cause (typed unknown there); etcd's cause is always a string.
  override cause: string;
  index: number;

  constructor(code: number, cause: string, index: number) {
    super(`${errorMessage(code)} (${cause})`);
    this.code = code;
    this.cause = cause;
    this.index = index;
  }

  /** The etcd message for this error's code. */
  get errorMessage(): string {
    return errorMessage(this.code);
  }

  /** The HTTP status etcd answers with. */
  get status(): number {
    return errorStatus(this.code);
  }

  /** etcd's JSON shape, fields in etcd's order; `cause` omitted when empty. */
  toJSON(): { errorCode: number; message: string; cause?: string; index: number } {
    if (this.cause === "") {
      return { errorCode: this.code, message: this.errorMessage, index: this.index };
    }
    return {
      errorCode: this.code,
      message: this.errorMessage,
      cause: this.cause,
      index: this.index,
    };
  }
}
