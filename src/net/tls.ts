/**
 * TLS material from the `--cert-file`, `--key-file`, `--trusted-ca-file` and
 * `--client-cert-auth` flags, for a listener (Bun.serve) and for requests to servers that use
 * them (fetch). The files are read when called; one that cannot be read is an error worded as
 * Go's (`open /x.pem: no such file or directory`).
 */
import { readFileSync } from "node:fs";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** "": no CA of our own (client certificates cannot be verified; servers by the system's). */
  readonly trustedCaFile: string;
  /** Require a client certificate signed by the trusted CA. */
  readonly clientCertAuth: boolean;
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

/** Options for `Bun.serve({ tls })`. */
export function serverTls(files: TlsFiles) {
  const ca = files.trustedCaFile === "" ? undefined : read(files.trustedCaFile);
  return {
    cert: read(files.certFile),
    key: read(files.keyFile),
    ...(ca === undefined ? {} : { ca }),
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
}

/** Options for `fetch(url, { tls })` to a server of the same cluster. */
export function clientTls(files: TlsFiles): FetchTls {
  const ca = files.trustedCaFile === "" ? undefined : read(files.trustedCaFile);
  const withCert = files.certFile !== "" && files.keyFile !== "";
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(withCert ? { cert: read(files.certFile), key: read(files.keyFile) } : {}),
  };
}
