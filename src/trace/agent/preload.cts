/**
 * The agent's CommonJS entry, for `NODE_OPTIONS=--require <this file>`: it runs before user
 * code (CommonJS or ESM) and loads the agent synchronously (Node's require of ES modules).
 */
const agent = require("./agent.js") as { start(): void };
agent.start();
