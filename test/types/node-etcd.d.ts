// Minimal typings for the parts of node-etcd the end-to-end test uses.
declare module "node-etcd" {
  type Callback = (err: { errorCode?: number } | null, body: unknown, headers?: unknown) => void;
  interface Watcher {
    on(event: "change" | "set" | "delete" | "error", cb: (value: unknown) => void): Watcher;
    stop(): void;
  }
  export default class Etcd {
    constructor(hosts: string[]);
    set(key: string, value: string, options: Record<string, unknown>, cb: Callback): void;
    set(key: string, value: string, cb: Callback): void;
    get(key: string, options: Record<string, unknown>, cb: Callback): void;
    get(key: string, cb: Callback): void;
    del(key: string, options: Record<string, unknown>, cb: Callback): void;
    mkdir(key: string, cb: Callback): void;
    compareAndSwap(key: string, value: string, oldValue: string, cb: Callback): void;
    create(dir: string, value: string, cb: Callback): void;
    watcher(key: string, index?: number | null, options?: Record<string, unknown>): Watcher;
  }
}
