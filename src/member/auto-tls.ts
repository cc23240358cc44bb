/**
 * `--auto-tls` and `--peer-auto-tls` for a member, as etcd does them: a side with auto TLS and
 * no certificate files gets the self-signed certificate under `<data-dir>/fixtures/{client,peer}`
 * (made for the hosts of its listen URLs), and dials other members without verifying theirs;
 * a side whose files are given keeps them, with etcd's warning.
 */
import { join } from "node:path";
import { selfCert } from "../net/self-cert.ts";
import type { MemberSettings, TlsFileSettings } from "../server/settings.ts";

export async function withAutoTls(
  settings: MemberSettings,
  log: (line: string) => void,
): Promise<{ settings: MemberSettings; saveCertificates: () => void }> {
  const saves: (() => void)[] = [];
  const side = async (
    tls: TlsFileSettings | undefined,
    name: "client" | "peer",
    urls: readonly string[],
  ): Promise<TlsFileSettings | undefined> => {
    if (tls?.auto !== true) return tls;
    if (tls.certFile !== "" || tls.keyFile !== "") {
      log(`warning: ignoring ${name} auto TLS since certs given`);
      return tls;
    }
    const hosts = urls.map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ""));
    const made = await selfCert(join(settings.dataDir, "fixtures", name), hosts);
    saves.push(made.save);
    return {
      ...tls,
      certFile: made.certFile,
      keyFile: made.keyFile,
      selfSigned: { cert: made.cert, key: made.key },
    };
  };
  const clientTls = await side(settings.clientTls, "client", settings.listenClientUrls);
  const peerTls = await side(settings.peerTls, "peer", settings.listenPeerUrls);
  return {
    settings: {
      ...settings,
      ...(clientTls === undefined ? {} : { clientTls }),
      ...(peerTls === undefined ? {} : { peerTls }),
    },
    saveCertificates: () => {
      for (const save of saves) save();
    },
  };
}
