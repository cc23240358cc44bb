/** What the client listener's outer layer learned about a request, for the handlers. */
import type { Server } from "bun";

export interface RequestInfo {
  /** The listener that accepted it (a watch lifts its idle timeout there). */
  readonly srv: Server<unknown>;
  readonly url: URL;
  readonly cors: Readonly<Record<string, string>>;
}

export type ClientFetch = (request: Request, info: RequestInfo) => Response | Promise<Response>;
