/**
 * Helpers the constructs that run the CLI share (KeySync, KeyRotation): lazy strings
 * without a creation stack, Terraform resource names from construct paths, shell words
 * for provisioner commands. Not exported from the package.
 */
import type { Construct } from 'constructs';
import { Fn, TerraformStack, Token, type IResolvable } from './core';
import { escapeHclQuoted, escapeTemplateLiteral, shellQuote } from './trigger-hash';

/**
 * A string resolved at synth, like `Lazy.stringValue`, without the creation stack trace
 * cdktf's Lazy captures (an unbounded stack walk per token): two per KeySync were a third
 * of a 1000-key synth. The stack only serves cdktf's error messages about tokens, and
 * ours name the construct path instead.
 */
export function lazyString(produce: () => string): string {
  const resolvable: IResolvable = {
    creationStack: [],
    resolve: () => produce(),
    toString: () => Token.asString(resolvable),
  };
  return Token.asString(resolvable);
}

/** `[A-Za-z0-9_-]`, not starting with a digit or `-`: a valid Terraform resource name. */
export function sanitizeName(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(clean) ? clean : `_${clean}`;
}

/**
 * The stack-unique resource name of a construct: its path under the stack joined with
 * `_`, a final id `finalId` written `finalName` (`PaymentsKey/Sync` -> `PaymentsKey_sync`).
 */
export function resourceNameOf(c: Construct, finalId: string, finalName: string): string {
  const stack = TerraformStack.of(c);
  const scopes = c.node.scopes;
  const parts = scopes.slice(scopes.indexOf(stack) + 1).map((s) => s.node.id);
  if (parts[parts.length - 1] === finalId) parts[parts.length - 1] = finalName;
  return sanitizeName(parts.join('_'));
}

/** One shell word for a value: a literal single-quoted, a token quoted by Terraform. */
export function shellWord(value: string): string {
  if (Token.isUnresolved(value)) {
    // Terraform renders the value; replace() makes a ' inside it safe for /bin/sh.
    return `'${Fn.replace(value, "'", escapeHclQuoted("'\\''"))}'`;
  }
  return escapeTemplateLiteral(shellQuote(value));
}
