// `tsbpf btf dump FILE [--format raw|c]`: the BTF of a file as `bpftool btf dump file FILE
// [format c]` prints it.
//
// FILE is either raw BTF, as the kernel exposes its own (/sys/kernel/btf/vmlinux, starting
// with the BTF magic 0xeb9f in either byte order), or an ELF object whose .BTF section is
// dumped as the compiler wrote it (DATASEC sizes and variable offsets as clang left them,
// which is also what bpftool shows). The format is chosen by the first bytes, not the name.
//
//   raw (default)  one record per type: "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED"
//   c              a compilable C header of the named types (a vmlinux.h, for CO-RE programs)

import { dumpBtfC, dumpBtfRaw, parseBtf, parseElf } from "../index.js";
import { CommandError, oneOf, parseCommand, readInputFile } from "./usage.js";

export const BTF_DUMP_HELP = `usage: tsbpf btf dump FILE [--format raw|c]

Prints the BTF type information of FILE: raw BTF such as /sys/kernel/btf/vmlinux, or the
.BTF section of a BPF ELF object. The output matches \`bpftool btf dump file FILE\`.

  --format raw    one line per type and per member, value or parameter (default)
  --format c      a C header declaring the named types (what vmlinux.h is made of)
`;

const COMMAND = "btf dump";

/** Lines per write, so that a raw vmlinux dump (300,000 lines) is not built as one string. */
const FLUSH_LINES = 8192;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"

export function btfDumpCommand(args: string[]): void {
  const { values, positionals } = parseCommand(COMMAND, args, { format: { type: "string", short: "f" } }, [1, 1], "FILE");
  const format = oneOf(COMMAND, "format", values.format, ["raw", "c"] as const) ?? "raw";
  const path = positionals[0];
  const btf = parseBtf(btfBytesOf(path, readInputFile(path, "BTF file")));
  if (format === "c") {
    process.stdout.write(dumpBtfC(btf));
    return;
  }
  let batch: string[] = [];
  for (const line of dumpBtfRaw(btf)) {
    batch.push(line);
    if (batch.length === FLUSH_LINES) {
      process.stdout.write(`${batch.join("\n")}\n`);
      batch = [];
    }
  }
  if (batch.length > 0) process.stdout.write(`${batch.join("\n")}\n`);
}

/** The BTF blob in `bytes`: the whole file, or the .BTF section of an ELF object. */
function btfBytesOf(path: string, bytes: Uint8Array): Uint8Array {
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const section = parseElf(bytes).section(".BTF");
    if (section === undefined) throw new CommandError(`${path} has no .BTF section (compile with clang -g to get one)`);
    return section.data;
  }
  // struct btf_header starts with magic 0xeb9f in the byte order of the data.
  const le = bytes[0] === 0x9f && bytes[1] === 0xeb;
  const be = bytes[0] === 0xeb && bytes[1] === 0x9f;
  if (!le && !be) throw new CommandError(`${path} is neither raw BTF (magic 0xeb9f) nor an ELF object`);
  return bytes;
}
