/**
 * `PUT /config/local/log` `{"Level":"DEBUG"}`: etcd 3.4's way to change the log level of a
 * running member (capnslog's global level), answered 204; a body that is not a JSON object or
 * names no level is refused with etcd's 400 messages.
 */
import { type LogLevel, parseCapnslogLevel } from "../util/log.ts";
import { goJsonFirstValue } from "./go-json.ts";
import { messageResponse, methodNotAllowed } from "./responses.ts";

export const LOG_LEVEL_PATH = "/config/local/log";

export async function handleLogLevel(
  request: Request,
  setLevel: (level: LogLevel) => void,
  log: (line: string) => void,
): Promise<Response> {
  if (request.method !== "PUT") return methodNotAllowed("PUT");
  const name = levelField(new Uint8Array(await request.arrayBuffer()));
  if (name === undefined) return messageResponse(400, "Invalid json body", undefined);
  const parsed = parseCapnslogLevel(name.toUpperCase());
  if (parsed === undefined) return messageResponse(400, `Invalid log level ${name}`, undefined);
  log(`globalLogLevel set to "${parsed.name}"`);
  setLevel(parsed.level);
  return new Response(null, { status: 204 });
}

/**
 * The `Level` field as Go's decoder fills `struct{ Level string }` from the body's first JSON
 * value: keys match
 * case-insensitively, the last wins, `null` leaves "". Undefined when Go would fail to decode
 * (not JSON, not an object, a non-string level).
 */
function levelField(body: Uint8Array): string | undefined {
  const value = goJsonFirstValue(body);
  if (value === undefined) return undefined;
  if (value === null) return "";
  if (typeof value !== "object" || Array.isArray(value)) return undefined;
  let level = "";
  for (const [key, field] of Object.entries(value)) {
    if (key.toLowerCase() !== "level" || field === null) continue;
    if (typeof field !== "string") return undefined;
    level = field;
  }
  return level;
}
