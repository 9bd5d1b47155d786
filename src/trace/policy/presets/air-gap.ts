import {
  HOSTILE_COMMANDS,
  listOf,
  NETWORK_COMMANDS,
  SECRET_ENV,
  SECRET_FILES,
  SUSPICIOUS_COMMANDS,
} from "./shared.js";

/**
 * No network at all: every host, URL and endpoint denied, network tools and network
 * configuration denied, no secrets; everything else runs. malwi's policy format.
 */
export const AIR_GAP = `version: 1
description: "warden run preset air-gap: no network; secrets and network tools denied"

network:
  deny: ["*", "*/**", "*:*"]

commands:
  deny:
${listOf([...NETWORK_COMMANDS, ...HOSTILE_COMMANDS, "ip", "ifconfig", "iptables", "nft", "route", "ping", "ping6", "traceroute", "tracepath"])}
  warn:
${SUSPICIOUS_COMMANDS}

files:
  deny:
${SECRET_FILES}

envvars:
  deny:
${SECRET_ENV}
`;
