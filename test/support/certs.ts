/**
 * Certificates for TLS tests, made with openssl in a temp dir: a CA, a server certificate for
 * 127.0.0.1/localhost and a client certificate from it, a client certificate the CA revoked (in
 * `crlFile`) and one that expired, and a rogue CA with a client certificate of its own. Each
 * pair as PEM files and as text.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: string;
  readonly server: Pair;
  /** A second server certificate from `ca` (a rotation's replacement). */
  readonly server2: Pair;
  readonly client: Pair;
  /** Signed by another CA than `ca`. */
  readonly rogue: Pair;
  /** Signed by `ca`, and revoked in `crlFile`. */
  readonly revoked: Pair;
  /** Signed by `ca`, valid for one day in 2020. */
  readonly expired: Pair;
  /** The CA's certificate revocation list (PEM), naming `revoked`. */
  readonly crlFile: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

/** A new RSA key `<name>.key` and, for `<name>`, a CA certificate or a signing request. */
function newKey(dir: string, name: string, as: "ca" | "csr"): void {
  const out =
    as === "ca" ? ["-x509", "-days", "2", "-out", `${name}.pem`] : ["-out", `${name}.csr`];
  openssl(
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-subj",
      `/CN=${name}`,
      ...out,
    ],
    dir,
  );
}

/** `<name>.pem` and `<name>.key` in `dir`, as files and text. */
function pairOf(dir: string, name: string): Pair {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return {
    certFile,
    keyFile,
    cert: readFileSync(certFile, "utf8"),
    key: readFileSync(keyFile, "utf8"),
  };
}

function makeCert(dir: string, name: string, ca: string, san: string): Pair {
  newKey(dir, name, "csr");
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  openssl(
    ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`].concat([
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ]),
    dir,
  );
  return pairOf(dir, name);
}

/** `openssl ca`'s bookkeeping for the CA `ca` (its database, serials, CRL numbers). */
const CA_CONFIG = `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
serial = serial
crlnumber = crlnumber
default_md = sha256
default_crl_days = 2
policy = any_name
copy_extensions = copy
[ any_name ]
commonName = supplied
`;

/** A client certificate signed through `openssl ca` (so it can be revoked), with given dates. */
function caSigned(dir: string, name: string, dates: readonly string[]): Pair {
  newKey(dir, name, "csr");
  openssl(
    ["ca", "-config", "ca.cnf", "-batch", "-in", `${name}.csr`, "-out", `${name}.pem`, ...dates],
    dir,
  );
  return pairOf(dir, name);
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "etcd-bun-certs-"));
  newKey(dir, "ca", "ca");
  newKey(dir, "rogue-ca", "ca");
  writeFileSync(join(dir, "ca.cnf"), CA_CONFIG);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(join(dir, "crlnumber"), "01\n");
  const revoked = caSigned(dir, "revoked", ["-days", "2"]);
  const expired = caSigned(dir, "expired", [
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
  ]);
  openssl(["ca", "-config", "ca.cnf", "-batch", "-revoke", "revoked.pem"], dir);
  openssl(["ca", "-config", "ca.cnf", "-batch", "-gencrl", "-out", "crl.pem"], dir);
  const caFile = join(dir, "ca.pem");
  return {
    dir,
    caFile,
    ca: readFileSync(caFile, "utf8"),
    server: makeCert(dir, "server", "ca", "IP:127.0.0.1,DNS:localhost"),
    server2: makeCert(dir, "server2", "ca", "IP:127.0.0.1,DNS:localhost"),
    client: makeCert(dir, "client", "ca", "DNS:client"),
    rogue: makeCert(dir, "rogue", "rogue-ca", "DNS:rogue"),
    revoked,
    expired,
    crlFile: join(dir, "crl.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A member's client TLS flags with `certs.server`, trusting `certs.ca`. */
export function serverTlsFlags(certs: TestCerts, clientCertAuth: boolean): string[] {
  return [
    "--cert-file",
    certs.server.certFile,
    "--key-file",
    certs.server.keyFile,
    "--trusted-ca-file",
    certs.caFile,
    ...(clientCertAuth ? ["--client-cert-auth"] : []),
  ];
}

/** The certificate a TLS listener at `url` shows, as `openssl x509` prints it with `args`. */
export function servedCertificate(url: string, args: readonly string[]): string {
  const { host } = new URL(url);
  const pem = execFileSync("openssl", ["s_client", "-connect", host], {
    input: "",
    stdio: ["pipe", "pipe", "ignore"],
  }).toString();
  return execFileSync("openssl", ["x509", "-noout", ...args], { input: pem })
    .toString()
    .trim();
}
