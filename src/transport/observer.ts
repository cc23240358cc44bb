/** Traffic figures the transport reports for the metrics: frame bytes each way, round trips. */
export interface TransportObserver {
  sent(peerId: string, bytes: number): void;
  received(peerId: string, bytes: number): void;
  roundTrip(peerId: string, seconds: number): void;
}
