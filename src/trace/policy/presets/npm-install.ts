import {
  HOSTILE_COMMANDS,
  listOf,
  NETWORK_COMMANDS,
  SECRET_ENV,
  SECRET_FILES,
  SUSPICIOUS_COMMANDS,
} from "./shared.js";

/**
 * `npm install` / `npm ci` / `npm add`: the npm registry only, no secrets, no shelling out to
 * network tools or other interpreters (install scripts may run sh, node, node-gyp and the C
 * toolchain a native module needs). malwi's policy format.
 */
export const NPM_INSTALL = `version: 1
description: "warden run preset npm-install: the npm registry only; secrets, persistence and network tools denied"

nodejs:
  allow: [dns.lookup, dns.resolve, net.connect, tls.connect, fetch, http.request, https.request, http.get, https.get]
  # eval is not named: hooking it makes every direct eval(x) of an install script an indirect
  # one (global scope), which breaks code that was fine; Function and vm keep their meaning.
  warn:
    - vm.runInContext
    - vm.runInNewContext
    - vm.runInThisContext
    - vm.compileFunction
    - vm.Script
    - child_process.exec
    - child_process.execSync

commands:
  allow:
    - sh
    - bash
    - dash
    - node
    - npm
    - npx
    - node-gyp
    - node-gyp-build
    - prebuild-install
    - git
    - make
    - cc
    - gcc
    - g++
    - c++
    - ld
    - ar
    - uname
    - "python* */node-gyp/gyp/gyp_main.py *"
  deny:
${listOf([...NETWORK_COMMANDS, ...HOSTILE_COMMANDS, "python*"])}
  warn:
${SUSPICIOUS_COMMANDS}

network:
  allow:
    - "registry.npmjs.org/**"
    - "*.npmjs.org/**"

files:
  deny:
${SECRET_FILES}
    - "~/.npmrc": [write, edit, delete, create]

envvars:
  deny:
${SECRET_ENV}
`;
