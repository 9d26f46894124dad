// Explaining CO-RE results in words: one relocation as text (for `tsbpf core explain` and
// error messages), and the verifier's complaint about a poisoned instruction turned back
// into the relocation that poisoned it.
//
// When a poisoned instruction is reachable, the verifier stops at it with
//
//   42: (85) call unknown#195896080
//   invalid func unknown#195896080
//
// (195896080 = 0xbad2310, the helper id core-patch.ts writes; 42 is the instruction index
// in the program as loaded, which is the slot the relocation result records).

import type { CoreResult } from "./core.js";
import { CORE_POISON_HELPER } from "./core-patch.js";

const POISON_CALL = new RegExp(`^(\\d+): \\(85\\) call unknown#${CORE_POISON_HELPER}\\s*$`, "gm");
const POISON_REFUSAL = `invalid func unknown#${CORE_POISON_HELPER}`;

/**
 * The relocation whose poisoned instruction the verifier refused, when `log` ends that
 * way; undefined for any other refusal.
 */
export function poisonedRelocation(log: string, results: readonly CoreResult[]): CoreResult | undefined {
  const refusal = log.lastIndexOf(POISON_REFUSAL);
  if (refusal < 0) return undefined;
  let insn: number | undefined;
  for (const match of log.slice(0, refusal).matchAll(POISON_CALL)) insn = Number(match[1]);
  if (insn === undefined) return undefined;
  // An ld_imm64 is poisoned in both slots: the verifier may name either.
  return results.find((r) => r.status === "poisoned" && (r.insn === insn || r.insn + 1 === insn));
}

/**
 * A sentence for a verifier log that ends at a poisoned instruction: which relocation, on
 * what, where in the source, and how to guard it. Undefined for any other log.
 */
export function explainPoisonedCall(log: string, results: readonly CoreResult[]): string | undefined {
  const result = poisonedRelocation(log, results);
  if (result === undefined) return undefined;
  const where = result.source === undefined ? "" : ` at ${result.source.file}:${result.source.line} (${result.source.text})`;
  return (
    `instruction ${result.insn} was poisoned by CO-RE relocation #${result.index} (${result.kindName} of ${result.access}, ` +
    `local type ${result.localType} [${result.localTypeId}], access string ${result.accessString})${where}: ${result.reason}. ` +
    `The verifier reached it: guard the access with ${guardFor(result.kindName)} so that it is dead code on kernels without it`
  );
}

function guardFor(kindName: string): string {
  if (kindName.startsWith("ENUMVAL")) return "bpf_core_enum_value_exists()";
  if (kindName.startsWith("TYPE")) return "bpf_core_type_exists()";
  return "bpf_core_field_exists()";
}

/** A relocation as a few lines of text (what `tsbpf core explain` prints for it). */
export function formatCoreResult(result: CoreResult): string[] {
  const lines = [`relo #${result.index}  insn ${result.insn}  ${result.kindName}  ${result.access}`];
  lines.push(`  local:     ${result.localType} [${result.localTypeId}], access string ${result.accessString}` + (result.localValue === undefined ? "" : `, local value ${result.localValue}`));
  if (result.source !== undefined) lines.push(`  source:    ${result.source.file}:${result.source.line}: ${result.source.text}`);
  if (result.candidates.length === 0) lines.push("  candidates: none");
  for (const c of result.candidates) {
    const detail = c.matched ? `matches ${c.access} (${c.rawAccess})${c.value === undefined ? "" : ` = ${c.value}`}` : `no match: ${c.reason}`;
    lines.push(`  candidate: ${c.btf} [${c.typeId}] ${c.type}: ${detail}`);
  }
  const outcome = result.status === "patched" ? `patched to ${result.value}` : result.status;
  lines.push(`  result:    ${outcome}: ${result.reason}`);
  lines.push(`  insn:      ${result.before}${result.after === result.before ? "" : `  ->  ${result.after}`}`);
  return lines;
}
