/**
 * TLS material from the `--cert-file`, `--key-file`, `--trusted-ca-file`, `--client-cert-auth`,
 * `--client-crl-file` and `--cipher-suites` flags (and their `--peer-*` twins), for a listener (Bun.serve) and for requests to servers that use
 * them (fetch). The files are read when called; one that cannot be read is an error worded as
 * Go's (`open /x.pem: no such file or directory`).
 */
import { constants } from "node:crypto";
import { readFileSync, statSync } from "node:fs";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** "": no CA of our own (client certificates cannot be verified; servers by the system's). */
  readonly trustedCaFile: string;
  /** Require a client certificate signed by the trusted CA. */
  readonly clientCertAuth: boolean;
  /** A CRL (PEM) whose revoked certificates are refused; "" or absent: none. */
  readonly crlFile?: string;
  /** TLS 1.2 suites (OpenSSL names); undefined: the default list; empty: TLS 1.3 only. */
  readonly ciphers?: readonly string[] | undefined;
  /**
   * A self-signed certificate (auto TLS), given as PEM text: served as is, and servers of the
   * same kind are dialled without verifying theirs, as etcd does.
   */
  readonly selfSigned?: { readonly cert: string; readonly key: string };
  /** Auto TLS: servers of the same kind are dialled without verifying their certificates. */
  readonly auto?: boolean;
  /** A client certificate must carry this CN ("" or absent: any). */
  readonly allowedCn?: string;
  /** A client certificate's SANs must name this host ("" or absent: any). */
  readonly allowedHostname?: string;
}

export class TlsFileError extends Error {
  override name = "TlsFileError";
}

const FS_WORDS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "is a directory",
};

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== "string") throw error;
    throw new TlsFileError(`open ${path}: ${FS_WORDS[code] ?? code}`);
  }
}

/** etcd's floor: TLS 1.2 (etcd 3.4 sets MinVersion to it). */
const BELOW_TLS12 = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;

/** Options for `Bun.serve({ tls })`. */
export function serverTls(files: TlsFiles) {
  const ca = files.trustedCaFile === "" ? undefined : read(files.trustedCaFile);
  const crl = files.crlFile === undefined || files.crlFile === "" ? undefined : read(files.crlFile);
  const ciphers = files.ciphers;
  // Go applies a cipher list to TLS 1.2 only: naming no TLS 1.2 suite leaves TLS 1.3 alone.
  const noTls12 = ciphers !== undefined && ciphers.length === 0;
  return {
    cert: files.selfSigned?.cert ?? read(files.certFile),
    key: files.selfSigned?.key ?? read(files.keyFile),
    ...(ca === undefined ? {} : { ca }),
    ...(crl === undefined ? {} : { crl }),
    ...(ciphers === undefined || noTls12 ? {} : { ciphers: ciphers.join(":") }),
    secureOptions: BELOW_TLS12 | (noTls12 ? constants.SSL_OP_NO_TLSv1_2 : 0),
    // Bun asks for a client certificate only when told to (a CA alone does not), and then
    // refuses a handshake without a valid one.
    requestCert: files.clientCertAuth,
    rejectUnauthorized: files.clientCertAuth,
  };
}

/** `fetch`'s `tls` option toward a server of the same cluster. */
export interface FetchTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** false toward members with self-signed certificates (auto TLS). */
  readonly rejectUnauthorized?: boolean;
}

/** How often a dialler looks at its files again (the listeners' rotation checks as often). */
const RECHECK_MS = 1000;

/**
 * Options for `fetch(url, { tls })` (and a WebSocket's) to a server of the same cluster. The
 * fields are read when a connection is made, from the files as they were at most a second
 * earlier (rotation: etcd reads them at every handshake; a proxy dials per request, so the
 * files are not stat'ed each time); files that cannot be read mid-run keep the last good
 * contents. Unreadable files at the first call throw TlsFileError.
 */
export function clientTls(files: TlsFiles): FetchTls {
  let seen = fileFingerprint(files);
  let current = readClientTls(files);
  let checkedAt = performance.now();
  const now = (): FetchTls => {
    if (performance.now() - checkedAt < RECHECK_MS) return current;
    checkedAt = performance.now();
    const fingerprint = fileFingerprint(files);
    if (fingerprint === seen) return current;
    try {
      current = readClientTls(files);
      seen = fingerprint;
    } catch (error) {
      if (!(error instanceof TlsFileError)) throw error;
    }
    return current;
  };
  // One getter per field the files give (the set of fields never changes, their values may).
  const live = {};
  for (const field of Object.keys(current) as (keyof FetchTls)[]) {
    Object.defineProperty(live, field, { enumerable: true, get: () => now()[field] });
  }
  return live as FetchTls;
}

/** What identifies the files' current contents: inode, size and mtime of each. */
export function fileFingerprint(files: TlsFiles): string {
  const paths = [files.certFile, files.keyFile, files.trustedCaFile, files.crlFile ?? ""];
  return paths
    .filter((p) => p !== "")
    .map((p) => {
      try {
        const s = statSync(p);
        return `${p}:${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return `${p}:missing`;
      }
    })
    .join("|");
}

function readClientTls(files: TlsFiles): FetchTls {
  const ca = files.trustedCaFile === "" ? undefined : read(files.trustedCaFile);
  if (files.selfSigned !== undefined) {
    const { cert, key } = files.selfSigned;
    return { ...(ca === undefined ? {} : { ca }), cert, key, rejectUnauthorized: false };
  }
  const withCert = files.certFile !== "" && files.keyFile !== "";
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(withCert ? { cert: read(files.certFile), key: read(files.keyFile) } : {}),
    ...(files.auto === true ? { rejectUnauthorized: false } : {}),
  };
}
