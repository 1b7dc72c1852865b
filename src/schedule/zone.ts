/**
 * Time-zone math lives in src/core/zone.ts so config (which may not import
 * schedule) can use it too; re-exported here for the schedule modules.
 */
export * from '../core/zone.js';
