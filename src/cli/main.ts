/**
 * Entry point of the `shoal` command (bin/shoal.js imports this module). Runs the command line and
 * exits with its code; see program.ts for the commands and start.ts for exit codes.
 */
import { runCli } from './program.js';

// A closed stdout (a reader that went away) must not crash a running member.
process.stdout.on('error', () => {});

try {
  process.exit(await runCli(process.argv));
} catch (error) {
  process.stderr.write(`shoal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
