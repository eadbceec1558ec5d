/** Typed guards for control messages: untrusted bytes become typed values or a clear rejection. */
import type { MemberInfo, MemberList, MembershipMessage } from '../core/membership.js';

export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(o: Record<string, unknown>, key: string, maxLength = 1024): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLength) throw new MalformedMessageError(`field '${key}' must be a string of at most ${maxLength} chars`);
  return v;
}

export function int(o: Record<string, unknown>, key: string, min = -Infinity, max = Infinity): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new MalformedMessageError(`field '${key}' must be an integer in ${min}..${max}`);
  return v;
}

export function bool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new MalformedMessageError(`field '${key}' must be a boolean`);
  return v;
}

export function rec(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (!isRecord(v)) throw new MalformedMessageError(`field '${key}' must be an object`);
  return v;
}

export function arr(o: Record<string, unknown>, key: string, maxLength = 1_000_000): unknown[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > maxLength) throw new MalformedMessageError(`field '${key}' must be an array of at most ${maxLength} items`);
  return v;
}

function memberInfo(v: unknown): MemberInfo {
  if (!isRecord(v)) throw new MalformedMessageError('member must be an object');
  return { uuid: str(v, 'uuid', 64), address: str(v, 'address', 300), name: str(v, 'name', 255), lite: bool(v, 'lite') };
}

function memberList(v: unknown): MemberList {
  if (!isRecord(v)) throw new MalformedMessageError('list must be an object');
  // `term` is absent in lists of members that predate it (see MemberList.term).
  return { version: int(v, 'version', 0), term: v.term === undefined ? 0 : int(v, 'term', 0), members: arr(v, 'members', 10_000).map(memberInfo) };
}

const MEMBERSHIP_TYPES = new Set(['join-request', 'join-joining', 'join-master-is', 'member-list', 'heartbeat', 'list-request', 'leave']);

export function isMembershipType(type: string): boolean {
  return MEMBERSHIP_TYPES.has(type);
}

export function parseMembershipMessage(o: Record<string, unknown>): MembershipMessage {
  const type = str(o, 'type', 64);
  switch (type) {
    case 'join-request':
      return { type, member: memberInfo(o.member) };
    case 'join-joining':
      return { type, member: memberInfo(o.member) };
    case 'join-master-is':
      return { type, master: str(o, 'master', 300) };
    case 'member-list':
      return { type, list: memberList(o.list) };
    case 'heartbeat':
      return { type, uuid: str(o, 'uuid', 64), listVersion: int(o, 'listVersion', 0), listTerm: o.listTerm === undefined ? 0 : int(o, 'listTerm', 0) };
    case 'list-request':
      return { type, uuid: str(o, 'uuid', 64) };
    case 'leave':
      return { type, uuid: str(o, 'uuid', 64) };
    default:
      throw new MalformedMessageError(`unknown membership message type '${type}'`);
  }
}
