/**
 * `--auto-tls` / `--peer-auto-tls`: etcd's SelfCert. A listener without certificate files gets
 * a self-signed one kept in `<data-dir>/fixtures/{client,peer}/{cert,key}.pem`: reused when both
 * files exist, otherwise made here (ECDSA P-256, organisation "etcd", valid one year, the listen
 * URLs' hosts as IP or DNS names, server and client use) with @peculiar/x509 over WebCrypto.
 * Made in memory first and written only once the caller holds the data dir, so a start that
 * fails (a taken port) leaves nothing behind.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

export interface SelfCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
  /** Writes a new certificate into its dir (nothing to do for one that was read from it). */
  save(): void;
}

const VALID_MS = 365 * 24 * 3600 * 1000;
const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** The certificate for `dir`: the files there, or a new one for `hosts` (host names or IPs). */
export async function selfCert(dir: string, hosts: readonly string[]): Promise<SelfCert> {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, "utf8");
    const key = readFileSync(keyFile, "utf8");
    return { certFile, keyFile, cert, key, save: () => {} };
  }
  const { cert, key } = await generate(hosts);
  const save = () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [file, text] of [
      [keyFile, key],
      [certFile, cert],
    ] as const) {
      writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
  };
  return { certFile, keyFile, cert, key, save };
}

/**
 * Loaded on first use: @peculiar/x509 needs the reflect-metadata polyfill evaluated before it
 * (its tsyringe checks at load), which static imports do not guarantee once bundled, and a
 * member without auto TLS need not load either.
 */
async function x509Library() {
  await import("reflect-metadata");
  return await import("@peculiar/x509");
}

async function generate(hosts: readonly string[]): Promise<{ cert: string; key: string }> {
  const x509 = await x509Library();
  const keys = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const serial = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
  // A positive serial: the top bit clear.
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const now = Date.now();
  const names = [...new Set(hosts)].map((h) =>
    isIP(h) !== 0 ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h },
  );
  const usage = x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.digitalSignature;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name: "O=etcd",
    notBefore: new Date(now),
    notAfter: new Date(now + VALID_MS),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    cert: `${certificate.toString("pem")}\n`,
    key: `${x509.PemConverter.encode(pkcs8, "PRIVATE KEY")}\n`,
  };
}
