/**
 * The strict reconfiguration check against etcd 3.4's `mayAddMember` / `mayRemoveMember`:
 * "started" means the member published its name; "connected" means a stream with the peer has
 * been up for the health interval (5 s). A fake target: the store holds the members, a map the
 * peers' connection times.
 */
import { describe, expect, test } from "bun:test";
import type { ConfChange } from "../../src/raft/types.ts";
import { MembersError } from "../../src/server/members-error.ts";
import {
  addMember,
  HEALTH_INTERVAL_MS,
  NOT_ENOUGH_STARTED,
  type ReconfigTarget,
  removeMember,
  UNHEALTHY,
} from "../../src/server/reconfigure.ts";
import { Store } from "../../src/store/store.ts";
import { permanent } from "../store/helpers.ts";

interface FakeMember {
  id: string;
  /** Published (started) or not. */
  started?: boolean;
  /** ms before now this member's stream came up; undefined: not connected. */
  connectedForMs?: number;
}

function target(self: FakeMember, peers: FakeMember[]) {
  const store = new Store();
  const connectedAt = new Map<string, number>();
  for (const [i, m] of [self, ...peers].entries()) {
    const dir = `/0/members/${m.id}`;
    const peerURLs = [`http://127.0.0.1:${2380 + i}`];
    store.set(`${dir}/raftAttributes`, false, JSON.stringify({ peerURLs }), permanent);
    if (m.started !== false) {
      store.set(`${dir}/attributes`, false, JSON.stringify({ name: `m${i}` }), permanent);
    }
    if (m.connectedForMs !== undefined) connectedAt.set(m.id, Date.now() - m.connectedForMs);
  }
  const proposed: string[] = [];
  const t: ReconfigTarget = {
    memberId: self.id,
    store,
    strictReconfigCheck: true,
    now: () => Date.now(),
    peerActiveSince: (id) => connectedAt.get(id),
    proposeConfChange: async (type: ConfChange["type"], nodeId: string) => {
      proposed.push(`${type} ${nodeId}`);
    },
    hasKey: () => false,
  };
  return { t, proposed };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    if (error instanceof MembersError) return `${error.status} ${error.message}`;
    throw error;
  }
}

const LONG = HEALTH_INTERVAL_MS + 1000;
const JUST = 1000;
const refusedStarted = `500 ${NOT_ENOUGH_STARTED}`;
const refusedUnhealthy = `500 ${UNHEALTHY}`;
const add = (t: ReconfigTarget) => outcome(addMember(t, ["http://127.0.0.1:9"]));

describe("strict reconfig check: remove (etcd's mayRemoveMember)", () => {
  test("peers connected for the health interval: accepted", async () => {
    const { t, proposed } = target({ id: "a" }, [
      { id: "b", connectedForMs: LONG },
      { id: "c", connectedForMs: LONG },
    ]);
    expect(await outcome(removeMember(t, "c"))).toBe("ok");
    expect(proposed).toEqual(["removeNode c"]);
  });

  test("peers that came back less than 5 s ago do not count yet", async () => {
    const { t, proposed } = target({ id: "a" }, [
      { id: "b", connectedForMs: JUST },
      { id: "c", connectedForMs: JUST },
    ]);
    expect(await outcome(removeMember(t, "c"))).toBe(refusedUnhealthy);
    expect(await outcome(removeMember(t, "a"))).toBe(refusedUnhealthy);
    expect(proposed).toEqual([]);
  });

  test("a member this one is not connected to is down and may be removed", async () => {
    const { t } = target({ id: "a" }, [{ id: "b", connectedForMs: JUST }, { id: "c" }]);
    expect(await outcome(removeMember(t, "c"))).toBe("ok");
  });

  test("removing a connected member when the rest would lose the active quorum: refused", async () => {
    // 3 members, c down: removing b leaves a and c, of which only a is up.
    const { t } = target({ id: "a" }, [{ id: "b", connectedForMs: LONG }, { id: "c" }]);
    expect(await outcome(removeMember(t, "b"))).toBe(refusedUnhealthy);
    // Removing itself likewise (its own id is never "down").
    expect(await outcome(removeMember(t, "a"))).toBe(refusedUnhealthy);
  });

  test("members left that never started cannot form a quorum: not enough started members", async () => {
    const { t } = target({ id: "a" }, [
      { id: "b", started: false },
      { id: "c", connectedForMs: LONG },
    ]);
    // Left: a (started) and b (never started): 1 started of 2.
    expect(await outcome(removeMember(t, "c"))).toBe(refusedStarted);
  });
});

describe("strict reconfig check: add (etcd's mayAddMember)", () => {
  test("every member connected for the health interval: accepted", async () => {
    const { t } = target({ id: "a" }, [
      { id: "b", connectedForMs: LONG },
      { id: "c", connectedForMs: LONG },
    ]);
    expect(await add(t)).toBe("ok");
  });

  test("one peer connected for less than 5 s: unhealthy", async () => {
    const { t } = target({ id: "a" }, [
      { id: "b", connectedForMs: LONG },
      { id: "c", connectedForMs: JUST },
    ]);
    expect(await add(t)).toBe(refusedUnhealthy);
  });

  test("one peer down: unhealthy (an add needs every member connected)", async () => {
    const { t } = target({ id: "a" }, [{ id: "b", connectedForMs: LONG }, { id: "c" }]);
    expect(await add(t)).toBe(refusedUnhealthy);
  });

  test("a one-member cluster adds a second; 1 started of 2 cannot add a third", async () => {
    expect(await add(target({ id: "a" }, []).t)).toBe("ok");
    const { t } = target({ id: "a" }, [{ id: "b", started: false }]);
    expect(await add(t)).toBe(refusedStarted);
  });
});
