import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RevocationState } from '../src/tokens/revocation/revocation-state';

/**
 * The heap a RevocationState takes for `count` ended sessions: V8's used heap after a full
 * GC, before and after applying them, in this process. The ids arrive as the channel brings
 * them (150 to a message, each parsed from JSON), so the figure holds the id strings that the
 * state keeps, not only its map.
 */
export interface RevocationMemory {
  sessions: number;
  heapBytes: number;
  bytesPerSession: number;
}

const IDS_PER_MESSAGE = 150; // as RevocationService sends them

export function revocationStateMemory(count = 100_000, repeats = 3): RevocationMemory {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const settledHeap = () => {
    collectGarbage();
    collectGarbage();
    return process.memoryUsage().heapUsed;
  };
  const forgetAt = Math.floor(Date.now() / 1000) + 3600;
  // One call a sample: the state dies with its frame, before the next sample's first reading.
  const sample = (): number => {
    const before = settledHeap();
    const state = new RevocationState();
    for (let start = 0; start < count; start += IDS_PER_MESSAGE) {
      const ids = Array.from({ length: Math.min(IDS_PER_MESSAGE, count - start) }, () => randomUUID());
      const message = JSON.stringify({ kind: 'sessions', sessionIds: ids, forgetAt });
      state.apply(JSON.parse(message), forgetAt - 3600);
    }
    const after = settledHeap();
    if (state.size.sessions !== count) throw new Error(`the state holds ${state.size.sessions} sessions, not ${count}`);
    return after - before;
  };
  const samples = Array.from({ length: repeats }, sample);
  const heapBytes = samples.sort((a, b) => a - b)[Math.floor(repeats / 2)];
  return { sessions: count, heapBytes, bytesPerSession: Math.round(heapBytes / count) };
}
