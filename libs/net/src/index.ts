export * from './blocked-addresses.js';
export * from './outbound-policy.js';
export * from './outbound-url.js';
export * from './guarded-fetch.js';
