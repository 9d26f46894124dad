// The object's BTF in a form BPF_BTF_LOAD accepts when it describes externs. Pure.
//
// clang describes externs in ways the kernel's BTF checks (kernel/bpf/btf.c) refuse:
//   VAR  linkage BTF_VAR_GLOBAL_EXTERN     btf_var_check_meta: "Linkage not supported"
//   FUNC linkage BTF_FUNC_EXTERN           btf_func_check_meta: "Invalid func linkage"
//   FUNC parameter without a name          btf_func_check: "Invalid arg#N"
//   DATASEC .kconfig / .ksyms of size 0    btf_datasec_check_meta: "zero vlen"/"Invalid size"
//   a FUNC listed in a DATASEC             btf_datasec_resolve: "Not a VAR kind member"
// libbpf rewrites them when it opens the object (bpf_object__collect_externs), and so do we,
// on a copy made for the kernel, keeping every type id and string offset where it was
// (func_info, line_info and map key/value ids point into this BTF):
//   .kconfig  each VAR becomes an allocated global at its offset in the .kconfig map
//             (kconfigLayout), and the DATASEC gets that map's size;
//   .ksyms    each VAR becomes an allocated global of a 4-byte int and each FUNC entry
//             points at one dummy int VAR instead, 4 bytes apart (what the section
//             holds means nothing to the kernel; the instructions carry BTF ids);
//   FUNCs     with extern linkage become global, and unnamed parameters get a name.
// The spec's own BTF stays as clang wrote it: the extern types are what resolution checks.

import { BtfBuilder, BtfFuncLinkage, BtfVarLinkage } from "../btf/builder.js";
import { parseBtf, type Btf } from "../btf/parse.js";
import { BtfKind } from "../btf/kinds.js";
import type { BtfVarSecinfo } from "../btf/types.js";
import { KCONFIG_SECTION, KSYMS_SECTION, externDatasec, kconfigLayout } from "./externs-spec.js";

const INT_SIZE = 4;
/** The name given to the dummy VAR and to parameters that have none. */
const PLACEHOLDER_NAME = "__tsbpf_ksym";

/** The BTF unchanged (the same object) if it declares no externs, otherwise a rewritten copy. */
export function kernelReadyExternBtf(btf: Btf): Btf {
  const kconfig = externDatasec(btf, KCONFIG_SECTION);
  const ksyms = externDatasec(btf, KSYMS_SECTION);
  const externFuncs = findExternFuncs(btf);
  if (kconfig === undefined && ksyms === undefined && externFuncs.length === 0) return btf;

  const builder = BtfBuilder.from(btf);
  if (kconfig !== undefined) {
    const layout = kconfigLayout(btf);
    const vars: BtfVarSecinfo[] = kconfig.vars.map((secinfo) => {
      allocate(btf, builder, secinfo.type);
      return { ...secinfo, offset: layout.offsets.get(btf.type(secinfo.type).name)! };
    });
    vars.sort((a, b) => a.offset - b.offset);
    builder.replace(kconfig.id, { kind: "datasec", name: kconfig.name, size: layout.size, vars });
  }
  if (ksyms !== undefined) {
    const int = findInt(btf) ?? builder.addInt("int", INT_SIZE, { signed: true });
    let dummy: number | undefined;
    const vars: BtfVarSecinfo[] = ksyms.vars.map((secinfo, i) => {
      const member = btf.type(secinfo.type);
      let type = secinfo.type;
      if (member.kind === "var") allocate(btf, builder, member.id, int);
      else type = dummy ??= builder.addVar(PLACEHOLDER_NAME, int, BtfVarLinkage.GLOBAL_ALLOCATED);
      return { type, offset: i * INT_SIZE, size: INT_SIZE };
    });
    builder.replace(ksyms.id, { kind: "datasec", name: ksyms.name, size: vars.length * INT_SIZE, vars });
  }
  for (const id of externFuncs) {
    const func = btf.type(id);
    if (func.kind !== "func") continue;
    builder.replace(id, { kind: "func", name: func.name, type: func.type, linkage: BtfFuncLinkage.GLOBAL });
    nameParameters(btf, builder, func.type);
  }
  return parseBtf(builder.build());
}

/** A VAR with extern linkage becomes an allocated global (of `type` when given). */
function allocate(btf: Btf, builder: BtfBuilder, id: number, type?: number): void {
  const variable = btf.type(id);
  if (variable.kind !== "var") return;
  builder.replace(id, { kind: "var", name: variable.name, type: type ?? variable.type, linkage: BtfVarLinkage.GLOBAL_ALLOCATED });
}

function nameParameters(btf: Btf, builder: BtfBuilder, protoId: number): void {
  const proto = btf.type(protoId);
  if (proto.kind !== "func_proto" || proto.params.every((p) => p.name !== "" || p.type === 0)) return;
  // A parameter of type 0 without a name is `...`; it stays as it is.
  const params = proto.params.map((p) => (p.name === "" && p.type !== 0 ? { ...p, name: PLACEHOLDER_NAME } : p));
  builder.replace(protoId, { kind: "func_proto", name: "", returnType: proto.returnType, params });
}

function findExternFuncs(btf: Btf): number[] {
  const ids: number[] = [];
  for (let id = btf.firstTypeId; id < btf.typeCount; id++) {
    if (btf.kindOf(id) !== BtfKind.FUNC) continue;
    const func = btf.type(id);
    if (func.kind === "func" && func.linkage === BtfFuncLinkage.EXTERN) ids.push(id);
  }
  return ids;
}

/** A plain 4-byte int already in the BTF (libbpf's find_int_btf_id), or undefined. */
function findInt(btf: Btf): number | undefined {
  for (let id = btf.firstTypeId; id < btf.typeCount; id++) {
    if (btf.kindOf(id) !== BtfKind.INT) continue;
    const type = btf.type(id);
    if (type.kind === "int" && type.size === INT_SIZE && type.bits === 32 && type.bitOffset === 0 && !type.bool) return id;
  }
  return undefined;
}
