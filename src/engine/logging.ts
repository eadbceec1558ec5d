import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * One logger per member, readable on a terminal: pino-pretty as a synchronous stream on stderr
 * (stdout stays free for the program's own output, which the examples' tests compare).
 * `SHOAL_LOG_JSON=1` switches to raw JSON lines for log shippers.
 */
export function createMemberLogger(level: LogLevel): Logger {
  const base = {};
  if (process.env.SHOAL_LOG_JSON === '1') {
    return pino({ level, base }, pino.destination({ fd: 2, sync: true }));
  }
  const stream = pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' });
  return pino({ level, base }, stream);
}
