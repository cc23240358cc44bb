/**
 * Checking a Basic auth password against a user's bcrypt hash without paying bcrypt on every
 * request (etcd v2's known throughput limit): a verified (user, stored hash, password) triple is
 * remembered for a few minutes under its SHA-256, so a changed password (a new hash) or a
 * deleted user (no hash) stops matching at once. Failed checks are never remembered, an unknown
 * user costs the same bcrypt as a wrong password (same answer, same time), and at most a few
 * bcrypt runs share the CPU at once, so a flood of bad logins cannot starve the member.
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
  private readonly remembered = new Map<string, number>();
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
   * always false, after the same work as a wrong password. Synchronous when remembered.
   */
  verify(user: string, password: string, hash: string | undefined): boolean | Promise<boolean> {
    if (hash === undefined) return this.checkDecoy(password);
    const key = rememberKey(user, hash, password);
    const until = this.remembered.get(key);
    if (until !== undefined && until > this.options.now()) return true;
    if (until !== undefined) this.remembered.delete(key);
    // A stored hash bcrypt cannot read matches nothing.
    const check = () => Bun.password.verify(password, hash).catch(() => false);
    return this.limited(check).then((ok) => {
      if (ok) this.remember(key);
      return ok;
    });
  }

  private async checkDecoy(password: string): Promise<false> {
    this.decoy ??= this.hash(crypto.randomUUID());
    const decoy = await this.decoy;
    await this.limited(() => Bun.password.verify(password, decoy));
    return false;
  }

  private remember(key: string): void {
    if (this.remembered.size >= REMEMBERED_MAX) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
    this.remembered.set(key, this.options.now() + this.rememberMs);
  }

  private async limited(check: () => Promise<boolean>): Promise<boolean> {
    if (this.running >= this.concurrentChecks) {
      if (this.waiting.length >= this.waitingChecksMax) return false;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await check();
    } finally {
      // The slot passes straight to the next waiter (running stays counted for it).
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next();
    }
  }
}

function rememberKey(user: string, hash: string, password: string): string {
  return new Bun.CryptoHasher("sha256").update(`${user}\0${hash}\0${password}`).digest("hex");
}
