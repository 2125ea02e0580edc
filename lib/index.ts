/**
 * fstore: declare features once in TypeScript; get the same values offline, online and from streams.
 * Feature repos import everything they need from this entry point.
 */
export * from './definitions/index.js';
export { FstoreError } from './errors.js';
