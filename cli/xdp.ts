// `tsbpf xdp attach` and `tsbpf xdp detach`: what `ip link set dev DEV xdp obj OBJ sec S`
// and `ip link set dev DEV xdp off` do, through the library's rtnetlink calls.
//
// An XDP program attached over netlink stays attached when the process that attached it
// exits: the interface holds a reference to the program, and the program to the maps it
// uses. So `xdp attach` loads, attaches, prints and exits, leaving the program in place.
// Maps the object declares pinned (LIBBPF_PIN_BY_NAME, iproute2's PIN_GLOBAL_NS) are pinned
// under --pin-root, where `tsbpf map dump` and later loads of the same object find them.

import { detachXdp, load, NetlinkError, parseObject, pinPathFor, ProgramType, queryXdp, SpecError, type LoadedObject, type ObjectSpec, type ProgramSpec, type XdpAttachment, type XdpMode, onBpfFs } from "../index.js";
import { inNetns, programsByMode, XDP_MODES } from "./xdp-common.js";
import { CommandError, exclusive, oneOf, parseCommand, print, readInputFile } from "./usage.js";


const NETNS_HELP = `  --netns NS      do it in network namespace NS (as \`ip -n NS\`); unlike
                  \`ip netns exec\`, this keeps /sys/fs/bpf visible for pinning`;

export const XDP_ATTACH_HELP = `usage: tsbpf xdp attach DEV OBJ [--sec SECTION | --prog NAME] [--mode skb|native|offload]
                        [--replace] [--pin-root DIR] [--netns NS]

Loads one XDP program of the BPF object OBJ and attaches it to interface DEV, like
\`ip link set dev DEV xdp obj OBJ sec SECTION\`. The program stays attached after tsbpf
exits; remove it with \`tsbpf xdp detach DEV\`.

  --sec SECTION   the XDP program in this ELF section (when the object has several)
  --prog NAME     the XDP program with this function name
  --mode MODE     native (in the driver), skb (generic, any device) or offload (in the
                  NIC); default: native when the driver supports it, skb otherwise
  --replace       replace a program already attached (in the same mode)
  --pin-root DIR  BPF filesystem directory where maps declared as pinned are pinned
                  and looked for (default /sys/fs/bpf)
${NETNS_HELP}
`;

export const XDP_DETACH_HELP = `usage: tsbpf xdp detach DEV [--mode skb|native|offload] [--netns NS]

Detaches the XDP program of interface DEV, like \`ip link set dev DEV xdp off\`: in every
mode in use, or only in the mode given.

  --mode MODE     only the program attached in this mode
${NETNS_HELP}
`;

const ATTACH = "xdp attach";
const DETACH = "xdp detach";

export function xdpAttachCommand(args: string[]): void {
  const { values, positionals } = parseCommand(
    ATTACH,
    args,
    {
      sec: { type: "string" },
      prog: { type: "string" },
      mode: { type: "string" },
      replace: { type: "boolean" },
      "pin-root": { type: "string" },
      netns: { type: "string", short: "n" },
    },
    [2, 2],
    "DEV and OBJ",
  );
  exclusive(ATTACH, values, "sec", "prog");
  const [dev, path] = positionals;
  const mode = oneOf(ATTACH, "mode", values.mode, XDP_MODES);
  const pinRoot = values["pin-root"] ?? "/sys/fs/bpf";
  const spec = parseObject(readInputFile(path, "object"));
  const program = chooseXdpProgram(spec, values.sec, values.prog);
  inNetns(values.netns, () => {
    const before = checkInterfaceFree(dev, mode, values.replace === true);
    checkPinRoot(spec, pinRoot);
    const obj = load(spec, { programs: [program.name], pinRoot });
    try {
      const attachment = attach(obj, dev, program.name, mode, values.replace === true);
      const info = obj.program(program.name).info();
      const replaced = before.find((p) => p.mode === attachment.mode);
      const verb = replaced === undefined ? "attached" : `replaced program id ${replaced.id}: attached`;
      print(`${verb} ${program.name} to ${attachment.interfaceName} (ifindex ${attachment.ifindex}) in ${attachment.mode} mode: program id ${info.id}, tag ${info.tag}`);
      for (const line of describeMaps(spec, obj, info.mapIds, pinRoot)) print(line);
      attachment.keep(); // stays attached after we exit, like `ip link set dev X xdp obj ...`
    } finally {
      // Closing our fds does not detach: the interface keeps the program, the program its maps.
      obj.close();
    }
  });
}

export function xdpDetachCommand(args: string[]): void {
  const { values, positionals } = parseCommand(DETACH, args, { mode: { type: "string" }, netns: { type: "string", short: "n" } }, [1, 1], "DEV");
  const [dev] = positionals;
  const only = oneOf(DETACH, "mode", values.mode, XDP_MODES);
  inNetns(values.netns, () => {
    const attached = programsByMode(queryXdp(dev)).filter((p) => only === undefined || p.mode === only);
    if (attached.length === 0) {
      print(`${dev}: no XDP program attached${only === undefined ? "" : ` in ${only} mode`}`);
      return;
    }
    for (const { mode, id } of attached) {
      detachXdp(dev, { mode });
      print(`detached program id ${id} from ${dev} (${mode} mode)`);
    }
  });
}

function attach(obj: LoadedObject, dev: string, program: string, mode: XdpMode | undefined, replace: boolean): XdpAttachment {
  try {
    return obj.attachXdp(dev, { program, mode, replace });
  } catch (error) {
    // A NIC runs only programs verified for it: BPF_PROG_LOAD with prog_ifindex, which load() does not set.
    if (mode === "offload" && error instanceof NetlinkError && error.errnoName === "EINVAL") {
      const facts = { errno: error.errno, errnoName: error.errnoName, ...(error.kernelMessage === undefined ? {} : { kernelMessage: error.kernelMessage }) };
      throw new NetlinkError(`${error.message}; offload mode needs a program loaded for that device (prog_ifindex), which tsbpf does not do`, facts, { cause: error });
    }
    throw error;
  }
}

/** The XDP program named by --prog or --sec, or the object's only one. */
function chooseXdpProgram(spec: ObjectSpec, section: string | undefined, name: string | undefined): ProgramSpec {
  const all = [...spec.programs.values()];
  const list = (programs: ProgramSpec[]) => programs.map((p) => `${p.name} (section ${p.section})`).join(", ") || "none";
  if (name !== undefined) {
    const program = spec.programs.get(name);
    if (program === undefined) throw new CommandError(`the object has no program named ${name}; its programs: ${list(all)}`);
    return requireXdp(program);
  }
  const candidates = section === undefined ? all.filter((p) => p.type === ProgramType.XDP) : all.filter((p) => p.section === section);
  if (candidates.length === 1) return requireXdp(candidates[0]);
  if (candidates.length === 0) {
    throw new CommandError(section === undefined ? `the object has no XDP program; its programs: ${list(all)}` : `the object has no program in section ${section}; its programs: ${list(all)}`);
  }
  throw new CommandError(`the object has ${candidates.length} ${section === undefined ? "XDP programs" : `programs in section ${section}`}: ${list(candidates)}; choose one with --prog NAME`);
}

function requireXdp(program: ProgramSpec): ProgramSpec {
  if (program.type !== ProgramType.XDP) {
    throw new SpecError(`section "${program.section}" holds a program of another type, not an XDP program`, { part: program.name });
  }
  return program;
}

/**
 * Refuses early, before anything is loaded, when a program is already attached and
 * --replace was not given (the kernel would refuse too; this says what to do). Returns
 * the programs attached now.
 */
function checkInterfaceFree(dev: string, mode: XdpMode | undefined, replace: boolean): { mode: XdpMode; id: number }[] {
  const attached = programsByMode(queryXdp(dev)); // also: "no interface named ..." for a missing one
  if (replace || attached.length === 0) return attached;
  const which = attached.map((p) => `program id ${p.id} in ${p.mode} mode`).join(" and ");
  const sameMode = mode === undefined || attached.some((p) => p.mode === mode);
  throw new CommandError(
    `${dev} already has an XDP program attached (${which}); ` +
      (sameMode ? "use --replace to replace it, or `tsbpf xdp detach " : "one interface cannot mix XDP modes: detach it first with `tsbpf xdp detach ") +
      `${dev}\``,
  );
}

/**
 * Pinning needs a BPF filesystem. `ip netns exec` mounts a fresh sysfs on /sys, which hides
 * the bpffs at /sys/fs/bpf; the kernel's answer to a pin there would be a bare EPERM.
 */
function checkPinRoot(spec: ObjectSpec, pinRoot: string): void {
  const pinned = [...spec.maps.values()].find((m) => m.pinning !== "none");
  if (pinned === undefined || onBpfFs(pinRoot)) return;
  throw new CommandError(
    `map ${pinned.name} is to be pinned under ${pinRoot}, which is not on a BPF filesystem; ` +
      `mount one (mount -t bpf bpf DIR) or choose another with --pin-root (inside \`ip netns exec\`, /sys/fs/bpf is hidden: use --netns NS instead)`,
  );
}

/** One line per map that outlives this process: pinned, or held by the attached program. */
function describeMaps(spec: ObjectSpec, obj: LoadedObject, programMapIds: readonly number[], pinRoot: string): string[] {
  const lines: string[] = [];
  const named = [...obj.maps].map(([name, map]) => ({ name, map, path: pinnedPath(spec, name, pinRoot) }));
  const data = [...obj.dataMaps].map(([name, map]) => ({ name, map, path: undefined }));
  for (const { name, map, path } of [...named, ...data]) {
    const id = map.info().id;
    if (path !== undefined) lines.push(`map ${name}: id ${id}, pinned at ${path}`);
    else if (programMapIds.includes(id)) lines.push(`map ${name}: id ${id}, not pinned (lives as long as the program)`);
  }
  return lines;
}

function pinnedPath(spec: ObjectSpec, name: string, pinRoot: string): string | undefined {
  const mapSpec = spec.maps.get(name);
  return mapSpec === undefined ? undefined : pinPathFor(mapSpec, pinRoot, spec.sha1);
}
