/** Types of scripts/fault-proxy-lib.mjs (see there). */
export type FaultDirection = 'toServer' | 'toClient';

export interface FaultProxy {
  host: string;
  port: number;
  readonly stats: { connections: number; cuts: number; bytes: Record<FaultDirection, number> };
  readonly openConnections: number;
  cut(): void;
  reset(): void;
  cutAfter(bytes: number): void;
  stall(on: boolean): void;
  delay(ms: number): void;
  drop(dir: FaultDirection | null): void;
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export function startFaultProxy(opts: { host: string; port: number; listenPort?: number; log?: (line: string) => void }): Promise<FaultProxy>;
