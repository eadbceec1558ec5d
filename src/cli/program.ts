/**
 * The `shoal` command line: commander wiring only. What each command does lives beside it
 * (`start.ts`), how options become config in `options.ts`.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { LOGGING_LEVELS } from '../config/types.js';
import type { StartFlags } from './options.js';
import { EXIT_CONFIG, EXIT_OK, runStart } from './start.js';

/** What the commands do; tests may replace them. */
export interface CliActions {
  start(flags: StartFlags): Promise<number>;
}

/** The package version, from package.json two levels up (src/cli/ and dist/cli/ alike). */
function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // fall through
  }
  return 'unknown';
}

export function createProgram(actions: CliActions, setExitCode: (code: number) => void): Command {
  const program = new Command('shoal')
    .description('Shoal: a partitioned in-memory data grid for Node.js')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .showHelpAfterError('(run shoal --help for usage)');

  program
    .command('start')
    .description('run a cluster member in the foreground until SIGINT or SIGTERM (a second signal terminates at once)')
    .option('-c, --config <file>', 'config file (.xml, .yaml or .yml); default: ./shoal.xml or ./shoal.yaml if present, else built-in defaults')
    .option('-p, --port <port>', 'port to listen on (network.port; auto-increment as configured)')
    .option('--member-name <name>', 'member name (memberName)')
    .option('--cluster-name <name>', 'cluster name; members of other clusters are refused (clusterName)')
    .option('--members <list>', 'comma-separated host:port list to join by TCP/IP, e.g. 127.0.0.1:5701,127.0.0.1:5702 (turns multicast off)')
    .option('--log-level <level>', `log level: ${LOGGING_LEVELS.join(', ')} (logging.level)`)
    .addHelpText(
      'after',
      [
        '',
        'Flags override the config file. Logs go to stderr (pino; SHOAL_LOG_JSON=1 for JSON lines).',
        'Once the member is in a cluster it prints one line on stdout:',
        '  SHOAL_MEMBER_READY <host:port> <uuid>',
        '',
        'Exit codes: 0 after a graceful shutdown, 1 if the member failed to start or stop,',
        '            2 for an invalid configuration or usage, 128+signal when terminated by a second signal.',
        '',
        'Examples:',
        '  shoal start --config shoal.xml',
        '  shoal start --port 5702 --members 127.0.0.1:5701,127.0.0.1:5702',
      ].join('\n'),
    )
    .action(async (flags: StartFlags) => {
      setExitCode(await actions.start(flags));
    });
  return program;
}

/**
 * Runs the command line `argv` (as in `process.argv`: node, script, args…) and resolves with the
 * exit code: help and version 0, usage errors 2, otherwise the command's own code.
 */
export async function runCli(argv: readonly string[], actions: CliActions = { start: (flags) => runStart(flags) }): Promise<number> {
  let exitCode = EXIT_OK;
  const program = createProgram(actions, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_CONFIG;
    throw error;
  }
  return exitCode;
}
