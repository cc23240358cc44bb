/**
 * Checking a Basic auth password against a user's bcrypt hash without paying bcrypt on every
 * request (etcd v2's known throughput limit): a verified (user, stored hash, password) triple is
 * remembered for a few minutes under its SHA-256, so a changed password (a new hash) or a
 * deleted user (no hash) stops matching at once; a refused one likewise, so repeating a wrong
 * password costs nothing. An unknown user costs the same bcrypt as a wrong password (same
 * answer, same time), at most a few bcrypt runs share the CPU at once, and a check whose client
 * has gone is dropped: a flood of bad logins cannot starve the member.
 */

export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

const BASIC_PREFIX = "basic ";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Go's `Request.BasicAuth`: "Basic " (any case) + standard base64 of `user:password`; anything
 * else is malformed. Bytes that are not UTF-8 are refused rather than replaced, so two
 * different byte strings can never name the same user or password.
 */
export function parseBasicAuth(header: string): BasicCredentials | undefined {
  if (header.slice(0, BASIC_PREFIX.length).toLowerCase() !== BASIC_PREFIX) return undefined;
  const encoded = header.slice(BASIC_PREFIX.length).replace(/[\r\n]/g, "");
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) return undefined;
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Buffer.from(encoded, "base64"));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export interface CredentialOptions {
  readonly now: () => number;
  /** bcrypt cost of new hashes (etcd: 10). */
  readonly cost?: number;
  /** How long a verified password is remembered. */
  readonly rememberMs?: number;
  /** bcrypt checks running at once; more wait their turn. */
  readonly concurrentChecks?: number;
  /** Checks waiting beyond this many are refused outright (a flood of logins). */
  readonly waitingChecksMax?: number;
}

const REMEMBERED_MAX = 10_000;

export class CredentialChecker {
  /** Verified and refused credentials (by rememberKey), with when to forget them. */
  private readonly accepted = new Map<string, number>();
  private readonly refused = new Map<string, number>();
  /** Checks under way, so a burst of requests with the same credentials runs bcrypt once. */
  private readonly checking = new Map<string, Promise<boolean>>();
  private readonly cost: number;
  private readonly rememberMs: number;
  private readonly concurrentChecks: number;
  private readonly waitingChecksMax: number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private decoy: Promise<string> | undefined;

  constructor(private readonly options: CredentialOptions) {
    this.cost = options.cost ?? 10;
    this.rememberMs = options.rememberMs ?? 5 * 60_000;
    this.concurrentChecks = options.concurrentChecks ?? 2;
    this.waitingChecksMax = options.waitingChecksMax ?? 4096;
  }

  hash(password: string): Promise<string> {
    return Bun.password.hash(password, { algorithm: "bcrypt", cost: this.cost });
  }

  /**
   * Whether `password` is the one `hash` was made from; `hash` undefined (no such user) is
   * always false, after the same work as a wrong password. Synchronous when remembered (a
   * failure too: the same wrong password stays wrong until the stored hash changes). A check
   * still waiting for its turn when `signal` aborts (the client left) is not run.
   */
  verify(
    user: string,
    password: string,
    hash: string | undefined,
    signal?: AbortSignal,
  ): boolean | Promise<boolean> {
    const key = rememberKey(user, hash ?? "", password);
    const now = this.options.now();
    if ((this.accepted.get(key) ?? 0) > now) return true;
    if ((this.refused.get(key) ?? 0) > now) return false;
    const running = this.checking.get(key);
    if (running !== undefined) return running;
    const result = this.limited(() => this.bcrypt(password, hash), signal).then((ok) => {
      this.checking.delete(key);
      // Not run (the client left, or too many waiting): nothing learned.
      if (ok !== undefined) remember(ok ? this.accepted : this.refused, key, now + this.rememberMs);
      return ok === true;
    });
    this.checking.set(key, result);
    return result;
  }

  private async bcrypt(password: string, hash: string | undefined): Promise<boolean> {
    if (hash !== undefined) return Bun.password.verify(password, hash).catch(() => false);
    this.decoy ??= this.hash(crypto.randomUUID());
    await Bun.password.verify(password, await this.decoy).catch(() => false);
    return false;
  }

  /** Runs `check` when a slot is free; undefined when it was not run. */
  private async limited(
    check: () => Promise<boolean>,
    signal: AbortSignal | undefined,
  ): Promise<boolean | undefined> {
    if (this.running >= this.concurrentChecks) {
      if (this.waiting.length >= this.waitingChecksMax) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      if (signal?.aborted === true) return undefined;
      return await check();
    } finally {
      // The slot passes straight to the next waiter (running stays counted for it).
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next();
    }
  }
}

/** Bounded: the oldest entry goes first (a flood of refusals cannot push out acceptances). */
function remember(map: Map<string, number>, key: string, until: number): void {
  if (map.size >= REMEMBERED_MAX) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.delete(key);
  map.set(key, until);
}

function rememberKey(user: string, hash: string, password: string): string {
  return Bun.SHA256.hash(`${user}\0${hash}\0${password}`, "base64");
}
