/** The identity layer: OAuth access tokens checked as a resource server (docs/identity.md). */
export { IDENTITY_CODES, type IdentityCode } from "./codes.js";
export {
  EXCHANGE_MARGIN_MS,
  type ExchangeTarget,
  MAX_EXCHANGED,
  TokenExchange,
} from "./exchange.js";
export {
  boundedFetch,
  JWKS_MAX_AGE_MS,
  type KeySource,
  type KeysState,
  keySource,
  MAX_JWKS_BYTES,
} from "./jwks.js";
export {
  challenge,
  METADATA_PATH,
  metadataPaths,
  metadataUrl,
  protectedResourceMetadata,
} from "./metadata.js";
export {
  type Algorithm,
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  type OAuthSettings,
  type Principal,
} from "./types.js";
export { JwtVerifier, MAX_VERIFIED, type Refused, scopesOf, type Verdict } from "./verifier.js";
