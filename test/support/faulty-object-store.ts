import type { ObjectStore } from '../../lib/stores/object-store.js';

/** A method of ObjectStore that writes or reads storage. */
export type StoreOperation = 'put' | 'get' | 'list' | 'delete' | 'copy' | 'move';

export interface Fault {
  /** The operation that fails. */
  readonly operation: StoreOperation;
  /** Which call of it fails, counting from 1; later calls succeed. */
  readonly onCall: number;
  /**
   * Whether the failing call still takes effect before it throws, like a request whose reply is lost.
   * @default false
   */
  readonly landed?: boolean;
}

/** The error a faulty store throws. */
export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

/** Wraps a store so that one call fails, to test what a job that dies half-way leaves behind. */
export function faultyObjectStore(store: ObjectStore, fault: Fault): ObjectStore {
  let calls = 0;
  const guard =
    <A extends unknown[], R>(operation: StoreOperation, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (operation !== fault.operation || ++calls !== fault.onCall) return call(...args);
      if (fault.landed) await call(...args);
      throw new InjectedFault(`injected failure of ${operation} call ${fault.onCall}`);
    };
  return {
    root: store.root,
    put: guard('put', (key: string, body: Uint8Array | string) => store.put(key, body)),
    get: guard('get', (key: string) => store.get(key)),
    list: guard('list', (prefix: string) => store.list(prefix)),
    delete: guard('delete', (keys: readonly string[]) => store.delete(keys)),
    copy: guard('copy', (from: string, to: string) => store.copy(from, to)),
    move: guard('move', (from: string, to: string) => store.move(from, to)),
    localPath: (key) => store.localPath(key),
    uri: (key) => store.uri(key),
  };
}
