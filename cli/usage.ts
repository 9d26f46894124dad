// Command-line parsing shared by the tsbpf commands: node:util parseArgs in strict mode,
// usage errors (exit status 2) kept apart from the library's BpfErrors (exit status 1),
// reading the files a user names, and printing.

import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** The command line is wrong: unknown option, missing or extra argument. Exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage applies ("xdp attach"), for the "see --help" hint. */
    readonly command: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The command cannot do what was asked, for a reason found before calling the library: a
 * file cannot be read, the interface already has a program. Exit status 1, like a BpfError.
 */
export class CommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CommandError";
  }
}

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;
/** What parseArgs returns for these options: `values` typed by option, and `positionals`. */
type Parsed<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/**
 * Parses `args` for `command`: the options given plus positional arguments, of which there
 * must be between `arity[0]` and `arity[1]`. `--help` is handled before this is called.
 */
export function parseCommand<const O extends OptionsConfig>(
  command: string,
  args: string[],
  options: O,
  arity: readonly [number, number],
  names: string,
): Parsed<O> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs throws TypeErrors coded ERR_PARSE_ARGS_* for anything it refuses.
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) throw new UsageError((error as Error).message, command);
    throw error;
  }
  const count = parsed.positionals.length;
  if (count < arity[0]) throw new UsageError(`missing argument: expected ${names}`, command);
  if (count > arity[1]) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[arity[1]])}`, command);
  return parsed;
}

/** One of `choices`, or a usage error naming them. */
export function oneOf<T extends string>(command: string, option: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${option} must be one of ${choices.join(", ")}, not ${JSON.stringify(value)}`, command);
}

/** --sec and --prog choose a program in two ways; giving both is ambiguous. */
export function exclusive(command: string, values: Record<string, unknown>, a: string, b: string): void {
  if (values[a] !== undefined && values[b] !== undefined) throw new UsageError(`--${a} and --${b} cannot be used together`, command);
}

/** The bytes of a file the user named, with a message that says which file and why not. */
export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String(error);
    throw new CommandError(`cannot read ${what} ${path}: ${why}`, { cause: error });
  }
}

/** One line (or several joined by newlines) on stdout. */
export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
