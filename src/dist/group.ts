// A process group: PyTorch's c10d (TCPStore rendezvous, ProcessGroupGloo) through native/dist.cc. Collectives are
// synchronous and each waits at most `timeoutMs`; a lost or stuck rank surfaces as a TorchError here.
import { TorchError } from "../errors.js";
import { native } from "../native/load.js";
import type { GroupHandle } from "../native/binding.js";
import type { Tensor } from "../tensor/index.js";
import type { RankEnv } from "./env.js";

const defaultTimeoutMs = 60_000;

/** A rendezvous or collective that failed: a rank stopped, is unreachable, or did not answer in time. */
export class GroupError extends TorchError {
  override name = "GroupError";
}

function torch<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new GroupError(`${what}: ${(e as Error).message}`);
  }
}

export class ProcessGroup {
  private constructor(
    private handle: GroupHandle | null,
    readonly rank: number,
    readonly worldSize: number,
  ) {}

  /** Joins the group; rank 0 serves the store on masterAddr:masterPort. Blocks until every rank has joined. */
  static init(env: RankEnv, timeoutMs = defaultTimeoutMs): ProcessGroup {
    const { masterAddr, masterPort, rank, worldSize } = env;
    const h = torch(`rank ${rank}: joining ${masterAddr}:${masterPort}`, () =>
      native.distInit(masterAddr, masterPort, rank, worldSize, timeoutMs),
    );
    return new ProcessGroup(h, rank, worldSize);
  }

  private get group(): GroupHandle {
    if (!this.handle) throw new TorchError("the process group is destroyed");
    return this.handle;
  }

  /** Sums every tensor over the ranks, in place, in one coalesced collective (all float32, contiguous). */
  allreduceSum(tensors: Tensor[]): void {
    if (tensors.length === 0) return;
    torch(`rank ${this.rank}: allreduce`, () =>
      native.distAllreduce(
        this.group,
        tensors.map((t) => t.handle),
      ),
    );
  }

  /** Overwrites every tensor with rank `root`'s values. */
  broadcast(tensors: Tensor[], root = 0): void {
    torch(`rank ${this.rank}: broadcast`, () =>
      native.distBroadcast(
        this.group,
        tensors.map((t) => t.handle),
        root,
      ),
    );
  }

  barrier(): void {
    torch(`rank ${this.rank}: barrier`, () => native.distBarrier(this.group));
  }

  destroy(): void {
    if (this.handle) native.distDestroy(this.handle);
    this.handle = null;
  }
}
