/**
 * Error codes of the audit layer and of `warden audit`, which reads its lines back. Retired
 * codes are never reused.
 */
export const AUDIT_CODES = {
  audit_unreadable:
    "`warden audit` cannot read the audit file (missing, a directory, no permission).",
} as const;

export type AuditCode = keyof typeof AUDIT_CODES;
