export * from './feature-store-stack.js';
export * from './registry-table.js';
