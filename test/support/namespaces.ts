/**
 * Tests that run processes in namespaces of their own (`unshare`): a loopback and /tmp of their
 * own, and a PID namespace whose processes the kernel ends with its first one.
 */
import { execFileSync } from "node:child_process";

/** Whether `command` is on the PATH. */
export function has(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Root, with unshare and ip: what namespaced tests need (CI runs as root). */
export const namespacesAvailable = process.getuid?.() === 0 && has("unshare") && has("ip");

/** `unshare` with a network, mount and PID namespace, ending its processes with the first. */
export const UNSHARE = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child"];
