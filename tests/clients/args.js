'use strict';
// Minimal --key value parser shared by the client scripts (no dependency on an argv library).
module.exports = function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument: ${key} (expected --key value pairs)`);
    }
    out[key.slice(2)] = argv[++i];
  }
  return out;
};
