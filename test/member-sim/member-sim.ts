/**
 * The whole-member simulator: N members, each the real EtcdServer with its real Raft node,
 * store, apply and snapshot code, over a simulated disk (sim-disk.ts), network (sim-network.ts)
 * and clock (ManualTime), all driven by one seed. Members crash (losing unsynced writes) and
 * restart through the real bootstrap; syncs fail; messages are lost, duplicated, reordered and
 * partitioned. Clients run a register workload whose history must be linearizable, and after
 * the faults stop every key is read once more through a quorum, so an acknowledged write that
 * was lost shows up as a violation. Any fatal error that was not an injected disk failure is a
 * bug, as is a cluster that makes no progress once healed.
 *
 * Replay one run: `bun scripts/member-sim.ts --seed N`.
 */
import { clusterIdFor, memberIdFor } from "../../src/config/ids.ts";
import { BootstrapError, type Opened, openMember } from "../../src/server/bootstrap.ts";
import { EtcdServer } from "../../src/server/etcd-server.ts";
import type { FetchMembers } from "../../src/server/join.ts";
import { MembersError } from "../../src/server/members-error.ts";
import { listMembers, removedMembersDir } from "../../src/server/membership.ts";
import { addMember, removeMember } from "../../src/server/reconfigure.ts";
import type { MemberSettings } from "../../src/server/settings.ts";
import type { EtcdError } from "../../src/store/errors.ts";
import { syncRequest, type V2Request } from "../../src/store/v2-apply.ts";
import { AssertionError } from "../../src/util/assert.ts";
import { Prng } from "../../src/util/prng.ts";
import { WalError } from "../../src/wal/errors.ts";
import { checkLinearizable } from "../lin/check.ts";
import { HistoryRecorder } from "../lin/history.ts";
import { type KeyedRegisterInput, type RegisterOutput, registerModel } from "../lin/model.ts";
import { ManualTime } from "../support/manual-time.ts";
import { MemberClock } from "./sim-clock.ts";
import { InjectedDiskError, SimDisk } from "./sim-disk.ts";
import { SimNetwork } from "./sim-network.ts";

export interface SimOptions {
  readonly seed: number;
  readonly members: number;
  /** Simulated milliseconds of faults and load, then as long again healed. */
  readonly durationMs: number;
  readonly clients: number;
  readonly crashRate: number;
  readonly syncFailRate: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly delayMsMax: number;
  readonly partitionRate: number;
  readonly snapshotCount: number;
  /** Entries kept behind a snapshot: small values make lagging members need snapshots. */
  readonly catchUpEntries: number;
  /** Chance per millisecond that a crashed member restarts while faults go on. */
  readonly restartRate: number;
  /** Longest fdatasync; work goes on while one runs. */
  readonly syncDelayMsMax: number;
  /**
   * A member whose disk corrupts synced records (-1: none). Only it crashes then, so a quorum of
   * intact disks stays up: it must refuse to start with a clear error, never serve wrong data.
   */
  readonly corruptMember: number;
  /**
   * A member whose disk loses its synced tail in crashes (-1: none; never drawn by
   * optionsForSeed, see `withLostTail`). Only it crashes then.
   */
  readonly lostTailMember: number;
  /** Chance per millisecond of a membership change (a member added, or one removed). */
  readonly membershipRate: number;
}

export function optionsForSeed(seed: number): SimOptions {
  const p = new Prng(seed ^ 0x5eed);
  // Drawn in this order so that a seed keeps its meaning when a later option is added.
  const base = {
    seed,
    members: p.chance(0.3) ? 5 : 3,
    durationMs: 4000 + p.nextInt(4000),
    clients: 2 + p.nextInt(3),
    crashRate: p.chance(0.7) ? 0.0005 + p.nextFloat() * 0.002 : 0,
    syncFailRate: p.chance(0.5) ? p.nextFloat() * 0.002 : 0,
    dropRate: p.nextFloat() * 0.1,
    duplicateRate: p.nextFloat() * 0.05,
    delayMsMax: 1 + p.nextInt(20),
    partitionRate: p.chance(0.5) ? p.nextFloat() * 0.001 : 0,
    snapshotCount: 10 + p.nextInt(100),
    catchUpEntries: p.chance(0.8) ? 1 + p.nextInt(20) : 5000,
    // Long outages make a member fall behind the others' snapshots.
    restartRate: p.chance(0.5) ? 0.01 : 0.0005,
    syncDelayMsMax: p.chance(0.5) ? p.nextInt(20) : 0,
  };
  const corruptMember = p.chance(0.25) ? 0 : -1;
  // Not with a corrupt disk: its member stays in the configuration once it stops (an operator
  // would remove it), which membership changes could then leave without a quorum.
  const membershipRate = p.chance(0.4) && corruptMember < 0 ? 0.002 : 0;
  return { ...base, corruptMember, lostTailMember: -1, membershipRate };
}

/** A seed's options with m0's disk losing its synced tail instead of rotting. */
export function withLostTail(options: SimOptions): SimOptions {
  return { ...options, corruptMember: -1, lostTailMember: 0, membershipRate: 0 };
}

/** How a member says that its log lacks what it acknowledged (raft/log.ts, as etcd words it). */
export const LOSS_DETECTED =
  /is out of range \[.*\]\. Was the raft log corrupted, truncated, or lost\?/;

export interface SimResult {
  readonly ok: boolean;
  readonly problem: string | undefined;
  readonly operations: number;
  readonly completed: number;
  readonly crashes: number;
  readonly injectedFailures: number;
  /** Times a member stopped because it found its own acknowledged state lost. */
  readonly detectedLosses: number;
  /** Members added and removed through the members API's code. */
  readonly membershipChanges: number;
}

const KEYS = ["/a", "/b", "/c"];
/** Simulated time allowed, once healed, for the final reads. */
const FINAL_PHASE_MS_MAX = 60_000;
const CLIENT_TIMEOUT_MS = 3000;
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;

interface SimMember {
  /** Known once it has started (a joining member learns it from the cluster). */
  id: string;
  settings: MemberSettings;
  readonly disk: SimDisk;
  clock: MemberClock;
  server: EtcdServer | undefined;
  /** Set while starting: the member is not serving yet. */
  starting: boolean;
  /** When it last went down: a process restarts no sooner than a millisecond later. */
  downAt: number;
  /** Stopped for good (it found its own acknowledged state lost). */
  retired: boolean;
  /** Joins refused so far (the operator asks another member each time). */
  joinRefusals: number;
}

/**
 * Runs one simulation. A rejection nobody handles is a finding: a real member's fatal handler
 * takes it and the member exits (leftovers of a crashed process, failing on its closed disk,
 * are not).
 */
export async function runSimulation(o: SimOptions): Promise<SimResult> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => {
    if (!(reason instanceof Error && reason.message.startsWith("sim disk:")))
      unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    const result = await simulate(o);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!result.ok || unhandled.length === 0) return result;
    const problem = `a rejection nobody handled (a real member would exit): ${describe(unhandled[0])}`;
    return { ...result, ok: false, problem };
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
}

async function simulate(o: SimOptions): Promise<SimResult> {
  const prng = new Prng(o.seed);
  const time = new ManualTime();
  const network = new SimNetwork(prng, o, () => time.now());
  const members = makeMembers(o, prng);
  /** A peer's answer to GET /members, for a joining member. */
  const fetchMembers: FetchMembers = async (url) => {
    const peer = members.find((m) => m.settings.advertisePeerUrls.includes(url));
    const server = peer?.server;
    if (server === undefined) throw new Error(`${url}: connection refused`);
    return { clusterId: server.clusterId, members: listMembers(server.store) };
  };
  let problem: string | undefined;
  let crashes = 0;
  let injectedFailures = 0;
  let detectedLosses = 0;
  let membershipChanges = 0;
  let reconfiguring = false;

  const stopMember = (m: SimMember) => {
    m.downAt = time.now();
    m.clock.kill();
    m.disk.crash();
    m.server = undefined;
    m.starting = false;
  };
  /**
   * The member found its disk's fault and stopped with one line, as it must: its WAL is corrupt,
   * or its own commit index or a leader's showed its log short of what it acknowledged. It stays down; an
   * operator would replace it.
   */
  const showsLoss = (m: SimMember, error: unknown) =>
    (m.disk.rotted > 0 && error instanceof WalError) ||
    (m.disk.lostSynced > 0 && error instanceof AssertionError && LOSS_DETECTED.test(error.message));
  const stopForGood = (m: SimMember) => {
    detectedLosses++;
    stopMember(m);
    m.retired = true;
  };
  const onFatal = (m: SimMember, server: EtcdServer | undefined) => (error: unknown) => {
    // A crashed process's leftover continuations may fail on its closed disk: not a finding.
    if (server !== undefined && m.server !== server) return;
    if (error instanceof InjectedDiskError) {
      injectedFailures++;
      stopMember(m);
      return;
    }
    if (showsLoss(m, error)) {
      stopForGood(m);
      return;
    }
    problem ??= `member ${m.settings.name} stopped on an error that was not injected: ${describe(error)}`;
    stopMember(m);
  };
  const start = async (m: SimMember) => {
    m.starting = true;
    let server: EtcdServer | undefined;
    m.clock = new MemberClock(time, (error) => onFatal(m, server)(error));
    const clock = m.clock;
    m.disk.attach((ms) => clock.sleep(ms));
    let opened: Opened;
    try {
      opened = await openMember(m.settings, m.disk, fetchMembers);
    } catch (error) {
      if (error instanceof InjectedDiskError) {
        injectedFailures++;
        stopMember(m);
        return;
      }
      // A joining member asked a peer that does not know of it yet, or membership changed
      // since it was added: as an operator would, it takes the cluster's current member list
      // (the ETCD_INITIAL_CLUSTER member add prints) and tries again later.
      if (error instanceof BootstrapError && !m.disk.logExists()) {
        refreshJoinSettings(m);
        stopMember(m);
        return;
      }
      if (showsLoss(m, error)) {
        stopForGood(m);
        return;
      }
      problem ??= `member ${m.settings.name} could not restart: ${describe(error)}`;
      return;
    }
    server = new EtcdServer(opened, {
      memberId: opened.memberId,
      clusterId: opened.clusterId,
      name: m.settings.name,
      heartbeatMs: HEARTBEAT_MS,
      electionMs: ELECTION_MS,
      snapshotCount: o.snapshotCount,
      snapshotCatchUpEntries: o.catchUpEntries,
      maxSnapshots: 5,
      maxWals: 5,
      strictReconfigCheck: m.settings.strictReconfigCheck,
      log: () => {},
      time: clock,
      onRemoved: () => {
        // As the real member exits on learning of its removal.
        clock.after(1, () => {
          m.retired = true;
          stopMember(m);
        });
      },
    });
    try {
      await server.replayCommitted();
    } catch (error) {
      onFatal(m, undefined)(error);
      return;
    }
    if (clock !== m.clock) return; // crashed while starting
    m.id = opened.memberId;
    m.server = server;
    server.start(onFatal(m, server));
    const running = server;
    const receiver = {
      get alive() {
        return m.server === running;
      },
      deliver: (msgs: Parameters<EtcdServer["receive"]>[0]) => running.receive(msgs),
      after: (ms: number, fn: () => void) => void clock.after(ms, fn),
      reportSnapshot: (from: string, ok: boolean) => running.reportSnapshot(from, ok),
    };
    network.attach(m.id, receiver);
    running.attachNetwork(network.endpoint(m.id, receiver));
    m.starting = false;
  };

  // Started, not awaited: a start waits on simulated time (a slow first sync), which only the
  // loop below moves.
  for (const m of members) {
    void start(m).catch((error) => {
      problem ??= `start failed: ${describe(error)}`;
    });
  }
  const refreshJoinSettings = (m: SimMember) => {
    // From another live member each time: without a leader, the live members may disagree on
    // the member list (one applied a change the other never learns of), and the join compares
    // the list with the first peer that answers.
    const live = members.filter((x) => x.server !== undefined && x !== m);
    const server = live[m.joinRefusals++ % Math.max(live.length, 1)]?.server;
    if (server === undefined) return;
    const current = listMembers(server.store).map((x) => ({
      id: x.id,
      name: x.peerURLs.some((u) => m.settings.advertisePeerUrls.includes(u))
        ? m.settings.name
        : x.name,
      peerUrls: x.peerURLs,
    }));
    m.settings = { ...m.settings, initialMembers: current };
  };
  /** A member its peers know as removed learns it from them (the transport's 410) and exits. */
  const retireRemoved = () => {
    const live = members.filter((x) => x.server !== undefined);
    for (const m of live) {
      const path = `${removedMembersDir}/${m.id}`;
      if (live.some((x) => x !== m && x.server !== undefined && x.server.store.has(path))) {
        m.retired = true;
        stopMember(m);
      }
    }
  };

  const changeMembership = async () => {
    if (reconfiguring) return;
    reconfiguring = true;
    try {
      const active = members.filter((m) => !m.retired);
      const live = active.filter((m) => m.server !== undefined);
      if (live.length === 0) return;
      const via = live[prng.nextInt(live.length)]?.server;
      if (via === undefined) return;
      if (active.length < 5 && (active.length <= 3 || prng.chance(0.5))) {
        const i = members.length;
        const peerUrl = `http://sim-${i}:2380`;
        const added = await addMember(via, [peerUrl]);
        const current = listMembers(via.store).map((x) => ({
          id: x.id,
          name: x.id === added.id ? `m${i}` : x.name,
          peerUrls: x.peerURLs,
        }));
        const joiner = simMember(o, prng, i, {
          initialClusterState: "existing",
          initialMembers: current,
          memberId: added.id,
          clusterId: via.clusterId,
        });
        members.push(joiner);
        membershipChanges++;
        void start(joiner);
        return;
      }
      const removable = active.filter((m) => m !== members[faultyDisk(o)] && m.id !== "");
      if (removable.length === 0 || active.length <= 3) return;
      const victim = removable[prng.nextInt(removable.length)];
      if (victim === undefined) return;
      await removeMember(via, victim.id);
      membershipChanges++;
      victim.retired = true;
      if (victim.server !== undefined) stopMember(victim);
    } catch (error) {
      if (!(error instanceof MembersError) && !isEtcdError(error)) throw error;
    } finally {
      reconfiguring = false;
    }
  };

  const recorder = new HistoryRecorder<KeyedRegisterInput, RegisterOutput>({
    now: () => time.now(),
  });
  const faultsEnd = time.now() + o.durationMs;
  const end = faultsEnd + o.durationMs;
  let running = true;
  const clients = Array.from({ length: o.clients }, (_, c) =>
    runClient(c, prng, time, members, recorder, () => running),
  );

  /** Starts members that are down: at once when `faulty` is false, else now and then. */
  const restartDown = (faulty: boolean) => {
    for (const m of members) {
      const restartable =
        m.server === undefined && !m.starting && !m.retired && m.downAt < time.now();
      if (restartable && (!faulty || prng.chance(o.restartRate))) {
        void start(m).catch((error) => {
          problem ??= `restart failed: ${describe(error)}`;
        });
      }
    }
  };

  while (time.now() < end && problem === undefined) {
    const faulty = time.now() < faultsEnd;
    if (faulty) injectFaults(o, prng, members, network, stopMember, () => crashes++);
    else network.healAll();
    if (o.membershipRate > 0) retireRemoved();
    if (faulty && prng.chance(o.membershipRate)) {
      void changeMembership().catch((error) => {
        problem ??= `membership change failed: ${describe(error)}`;
      });
    }
    restartDown(faulty);
    time.advance(1);
    await settle(time);
  }
  running = false;
  // The clients finish their requests (unknown after their timeout) and the final reads.
  let finished = false;
  void Promise.all(clients).then(() => {
    finished = true;
  });
  for (let ms = 0; !finished && ms < FINAL_PHASE_MS_MAX; ms++) {
    if (o.membershipRate > 0) retireRemoved();
    // A sync can still fail now: the operator restarts that member, as during the healed phase.
    restartDown(false);
    time.advance(1);
    await settle(time);
  }
  for (const m of members) m.clock.kill();
  if (!finished)
    problem ??= `no progress: clients still waiting after the final phase (${memberStates(members)})`;

  const history = recorder.history();
  const completed = history.filter((op) => op.status === "ok").length;
  if (problem === undefined) {
    const finals = history.filter((op) => op.clientId === FINAL_READER && op.status === "ok");
    if (finals.length < KEYS.length)
      problem = `no progress: the healed cluster answered ${finals.length} of ${KEYS.length} final reads`;
  }
  if (problem === undefined) {
    const result = checkLinearizable(history, registerModel, { timeoutMs: 30_000 });
    if (result.result === "illegal") problem = `not linearizable: ${result.witness.message}`;
    if (result.result === "unknown") problem = "linearizability check timed out";
  }
  return {
    ok: problem === undefined,
    problem,
    operations: history.length,
    completed,
    crashes,
    injectedFailures,
    detectedLosses,
    membershipChanges,
  };
}

function makeMembers(o: SimOptions, prng: Prng): SimMember[] {
  const peers = Array.from({ length: o.members }, (_, i) => {
    const peerUrl = `http://sim-${i}:2380`;
    return { id: memberIdFor([peerUrl], "sim"), name: `m${i}`, peerUrls: [peerUrl] };
  });
  const clusterId = clusterIdFor(peers.map((p) => p.id));
  return peers.map((p, i) =>
    simMember(o, prng, i, { initialMembers: peers, memberId: p.id, clusterId }),
  );
}

/** Member `i` (name m<i>, peer URL http://sim-<i>:2380) with its own disk. */
function simMember(
  o: SimOptions,
  prng: Prng,
  i: number,
  cluster: Pick<MemberSettings, "initialMembers" | "memberId" | "clusterId"> &
    Partial<MemberSettings>,
): SimMember {
  const peerUrl = `http://sim-${i}:2380`;
  return {
    id: cluster.memberId,
    disk: new SimDisk(prng, {
      syncFailRate: o.syncFailRate,
      syncDelayMsMax: o.syncDelayMsMax,
      corruptsSynced: i === o.corruptMember,
      losesSyncedTail: i === o.lostTailMember,
    }),
    clock: undefined as unknown as MemberClock,
    server: undefined,
    starting: false,
    downAt: -1,
    retired: false,
    joinRefusals: 0,
    settings: {
      name: `m${i}`,
      dataDir: `/sim/m${i}`,
      walDir: "",
      snapshotCount: o.snapshotCount,
      heartbeatMs: HEARTBEAT_MS,
      electionMs: ELECTION_MS,
      maxSnapshots: 5,
      maxWals: 5,
      initialClusterState: "new",
      forceNewCluster: false,
      listenClientUrls: [],
      advertiseClientUrls: [`http://sim-${i}:2379`],
      listenPeerUrls: [peerUrl],
      cors: [],
      // etcd's strict check waits 5 s of connection per peer, longer than most runs' faults:
      // seeds that change membership go without it (the check has its own tests).
      strictReconfigCheck: o.membershipRate === 0,
      preVote: true,
      raftSeed: o.seed + i,
      advertisePeerUrls: [peerUrl],
      ...cluster,
    },
  };
}

function memberStates(members: readonly SimMember[]): string {
  return members
    .map((m) => {
      const s = m.server;
      if (s === undefined) return `${m.settings.name}: ${m.starting ? "starting" : "down"}`;
      return `${m.settings.name}: ${s.state} term ${s.raftTerm} leader ${s.leader || "-"} index ${s.raftIndex}`;
    })
    .join("; ");
}

function injectFaults(
  o: SimOptions,
  prng: Prng,
  members: SimMember[],
  network: SimNetwork,
  stop: (m: SimMember) => void,
  counted: () => void,
): void {
  for (const [i, m] of members.entries()) {
    // With a corrupt disk in the cluster, only its member crashes: the others' disks stay a quorum.
    if (faultyDisk(o) >= 0 && i !== faultyDisk(o)) continue;
    if (m.server !== undefined && prng.chance(o.crashRate)) {
      // Never a quorum down at once: the cluster must be able to make progress.
      const active = members.filter((x) => !x.retired);
      const down = active.filter((x) => x.server === undefined).length;
      if (down + 1 <= Math.floor((active.length - 1) / 2)) {
        stop(m);
        counted();
      }
    }
  }
  if (prng.chance(o.partitionRate)) {
    const a = members[prng.nextInt(members.length)];
    const b = members[prng.nextInt(members.length)];
    if (a !== undefined && b !== undefined && a !== b) network.partition(a.id, b.id);
  }
  if (prng.chance(o.partitionRate)) network.healAll();
}

/** Runs every callback the members queued and lets their promises settle. */
async function settle(time: ManualTime): Promise<void> {
  for (let round = 0; round < 50; round++) {
    time.runSoon();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!time.hasSoon()) return;
  }
}

const faultyDisk = (o: SimOptions) => Math.max(o.corruptMember, o.lostTailMember);

const FINAL_READER = 1_000_000;

async function runClient(
  id: number,
  seedPrng: Prng,
  time: ManualTime,
  members: SimMember[],
  recorder: HistoryRecorder<KeyedRegisterInput, RegisterOutput>,
  running: () => boolean,
): Promise<void> {
  const prng = new Prng(seedPrng.nextU32() ^ id);
  for (let seq = 0; running(); seq++) {
    const target = members[prng.nextInt(members.length)];
    const server = target?.server;
    if (target === undefined || server === undefined) {
      await time.sleep(10);
      continue;
    }
    const key = KEYS[prng.nextInt(KEYS.length)] ?? "/a";
    const input = nextInput(prng, key, `c${id}s${seq}`);
    await perform(id, target, server, input, time, recorder);
  }
  if (id !== 0) return;
  // The final quorum reads, once the faults have stopped: every acknowledged write must show.
  for (const key of KEYS) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const target = members.find((m) => m.server !== undefined);
      const server = target?.server;
      if (target === undefined || server === undefined) {
        await time.sleep(100);
        continue;
      }
      if (await perform(FINAL_READER, target, server, { key, kind: "get" }, time, recorder)) break;
    }
  }
}

function nextInput(prng: Prng, key: string, value: string): KeyedRegisterInput {
  const roll = prng.nextInt(10);
  if (roll < 4) return { key, kind: "put", value };
  if (roll < 7) return { key, kind: "get" };
  if (roll < 8) return { key, kind: "cas", expected: `c0s${prng.nextInt(20)}`, value };
  if (roll < 9) return { key, kind: "create", value };
  return { key, kind: "delete" };
}

function requestOf(input: KeyedRegisterInput, nowMs: number): V2Request {
  const base = { ...syncRequest(nowMs), path: input.key };
  switch (input.kind) {
    case "put":
      return { ...base, method: "PUT", val: input.value };
    case "cas":
      return { ...base, method: "PUT", val: input.value, prevValue: input.expected };
    case "create":
      return { ...base, method: "PUT", val: input.value, prevExist: false };
    case "delete":
      return { ...base, method: "DELETE" };
    case "get":
      return { ...base, method: "GET", quorum: true };
  }
}

/** One client request; true when it got an answer (ok or a definite refusal). */
async function perform(
  clientId: number,
  member: SimMember,
  server: EtcdServer,
  input: KeyedRegisterInput,
  time: ManualTime,
  recorder: HistoryRecorder<KeyedRegisterInput, RegisterOutput>,
): Promise<boolean> {
  const handle = recorder.invoke(clientId, input);
  const timeout = new Promise<"timeout">((resolve) =>
    time.after(CLIENT_TIMEOUT_MS, () => resolve("timeout")),
  );
  const attempt = (async (): Promise<RegisterOutput | "unknown"> => {
    const req = requestOf(input, time.now());
    try {
      if (input.kind === "get") {
        await server.linearizableRead();
        return server.localGet(req)?.node.value ?? "";
      }
      const result = await server.proposeV2(req);
      if (result.error !== undefined) return refusalOutput(input, result.error);
      return input.kind === "put" ? "ok" : true;
    } catch (error) {
      if (isEtcdError(error) && error.code === 100 && input.kind === "get") return null;
      return "unknown";
    }
  })();
  const outcome = await Promise.race([attempt, timeout]);
  // A process that crashed meanwhile cannot have answered.
  if (outcome === "timeout" || outcome === "unknown" || member.server !== server) {
    handle.unknown();
    return false;
  }
  handle.ok(outcome);
  return true;
}

function refusalOutput(input: KeyedRegisterInput, error: EtcdError): RegisterOutput | "unknown" {
  if (input.kind === "cas" && (error.code === 101 || error.code === 100)) return false;
  if (input.kind === "create" && error.code === 105) return false;
  if (input.kind === "delete" && error.code === 100) return false;
  return "unknown";
}

function isEtcdError(error: unknown): error is EtcdError {
  return typeof error === "object" && error !== null && "code" in error && "cause" in error;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
