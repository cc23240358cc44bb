/**
 * The README's flag table, generated from the flag table and the support table, so the two
 * cannot drift apart (test/config/flag-table.test.ts checks the README holds this text).
 */
import { FLAGS } from "./flags.ts";
import { flagSupport } from "./support.ts";

/** One Markdown row per flag with an environment form: flag, default, what etcd-bun does. */
export function flagTableMarkdown(): string {
  const rows = FLAGS.filter((f) => f.env !== null && f.kind.type !== "ignored").map((f) => {
    const support = flagSupport(f.name);
    const status =
      support === undefined
        ? "works"
        : support.status === "v3-only"
          ? "v3 only: accepted with a warning"
          : `refused unless at its default (${support.reason})`;
    const fallback = f.defaultText === "" ? "" : `\`${f.defaultText}\``;
    return `| \`--${f.name}\` | ${fallback} | ${status} |`;
  });
  return ["| flag | default | in etcd-bun |", "|---|---|---|", ...rows].join("\n");
}
