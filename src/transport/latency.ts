/**
 * Running latency statistics for one peer, in the shape etcd reports in /v2/stats/leader
 * (current, average, standardDeviation, minimum, maximum, all in milliseconds).
 */

export interface LatencySummary {
  current: number;
  average: number;
  standardDeviation: number;
  minimum: number;
  maximum: number;
}

export class LatencyStats {
  private count = 0;
  private mean = 0;
  /** Sum of squared differences from the mean (Welford), for the standard deviation. */
  private m2 = 0;
  private current = 0;
  private minimum = 0;
  private maximum = 0;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    this.count++;
    const delta = ms - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (ms - this.mean);
    this.current = ms;
    this.minimum = this.count === 1 ? ms : Math.min(this.minimum, ms);
    this.maximum = Math.max(this.maximum, ms);
  }

  get samples(): number {
    return this.count;
  }

  summary(): LatencySummary {
    return {
      current: this.current,
      average: this.mean,
      standardDeviation: this.count > 0 ? Math.sqrt(this.m2 / this.count) : 0,
      minimum: this.minimum,
      maximum: this.maximum,
    };
  }
}
