import { clockRangeProblem, type EmulatorClock } from './clock';
import { parseFaultTarget, parseFaults, type FaultQueues } from './faults';
import { emptyReply, jsonReply, type Reply } from './reply';
import type { RequestLog } from './request-log';
import { applySettings, parseSettings, settingsJson } from './settings';
import type { EmulatorState } from './state';
import { show } from './show-value';

/**
 * The admin API under `/__emulator/` (exists only on the emulator; no auth, loopback):
 *
 * - `GET /__emulator/log` -> `{entries: RequestLogEntry[]}`; `DELETE` empties it.
 * - `GET /__emulator/clock` -> `{now, frozen}`; `POST` `{"set": iso|ms}`,
 *   `{"advanceSeconds": n}` or `{"realTime": true}`.
 * - `GET /__emulator/faults` -> queued faults; `POST` `{"route", "faults": [...]}`; `DELETE` clears.
 * - `GET /__emulator/state` -> keys with their gates, versions and registrations' versions (no secrets).
 * - `GET /__emulator/settings` -> `{maxPageSize, registrationAckSeconds, versionDateSkewSeconds}`;
 *   `POST` any of them (`"maxPageSize": null` removes the cap).
 * - `POST /__emulator/registrations/ack` `{"keyId"?, "resourceCrn"?}` -> the matching
 *   registrations (all when both are absent) acknowledge their key's current version now,
 *   whatever their `catchUp`; answers `{acknowledged, registrations}`.
 */
export interface AdminContext {
  readonly clock: EmulatorClock;
  readonly log: RequestLog;
  readonly faults: FaultQueues;
  readonly state: EmulatorState;
}

function adminError(status: number, message: string): Reply {
  return jsonReply(status, { error: message });
}

function parseJsonBody(body: Buffer): { ok: true; value: unknown } | { ok: false; reply: Reply } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, reply: adminError(400, 'The request body is not valid UTF-8; send a UTF-8 JSON object') };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reply: adminError(400, `The request body is not valid JSON (${(e as Error).message}); send a JSON object`) };
  }
}


function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clockReply(clock: EmulatorClock): Reply {
  return jsonReply(200, { now: new Date(clock.now()).toISOString(), frozen: clock.frozen });
}

/** Handles an admin request; `subpath` is the path after `/__emulator/`. */
export function handleAdmin(method: string, subpath: string, body: Buffer, ctx: AdminContext): Reply {
  const resource = subpath.replace(/\/+$/, '');
  const allow = (methods: string): Reply => ({ ...adminError(405, `Use ${methods} on /__emulator/${resource}`), headers: { 'content-type': 'application/json', allow: methods } });
  switch (resource) {
    case 'log':
      if (method === 'GET') return jsonReply(200, { entries: ctx.log.list() });
      if (method === 'DELETE') {
        ctx.log.clear();
        return emptyReply(204);
      }
      return allow('GET, DELETE');
    case 'clock': {
      if (method === 'GET') return clockReply(ctx.clock);
      if (method !== 'POST') return allow('GET, POST');
      const parsed = parseJsonBody(body);
      if (!parsed.ok) return parsed.reply;
      const b = parsed.value;
      if (!isObject(b)) return adminError(400, 'Send {"set": "<ISO time>" | <epoch ms>}, {"advanceSeconds": <n>} or {"realTime": true}');
      // A refused value leaves the clock as it was: a clock outside what Date can print
      // would break every later request.
      const range = 'from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z';
      if (b.set !== undefined) {
        if (typeof b.set !== 'number' && typeof b.set !== 'string') {
          return adminError(400, `"set": invalid value ${show(b.set)}: use an ISO 8601 time such as "2026-11-28T20:00:00Z" or epoch milliseconds; the clock is unchanged`);
        }
        const ms = typeof b.set === 'number' ? b.set : Date.parse(b.set);
        const problem = Number.isNaN(ms) ? 'not a time' : clockRangeProblem(ms);
        if (problem !== undefined) {
          return adminError(400, `"set": invalid value ${show(b.set)} (${problem}): use a time ${range}, as an ISO 8601 string or epoch milliseconds; the clock is unchanged`);
        }
        ctx.clock.set(ms);
      } else if (b.advanceSeconds !== undefined) {
        if (typeof b.advanceSeconds !== 'number' || !Number.isFinite(b.advanceSeconds)) {
          return adminError(400, `"advanceSeconds": invalid value ${show(b.advanceSeconds)}: use a finite number of seconds (negative moves the clock back); the clock is unchanged`);
        }
        const problem = clockRangeProblem(ctx.clock.now() + b.advanceSeconds * 1000);
        if (problem !== undefined) {
          return adminError(400, `"advanceSeconds": invalid value ${show(b.advanceSeconds)}: from ${new Date(ctx.clock.now()).toISOString()} it moves the clock ${problem}; keep the result ${range}; the clock is unchanged`);
        }
        ctx.clock.advance(b.advanceSeconds * 1000);
      } else if (b.realTime === true) {
        ctx.clock.useRealTime();
      } else {
        return adminError(400, 'Send {"set": "<ISO time>" | <epoch ms>}, {"advanceSeconds": <n>} or {"realTime": true}');
      }
      return clockReply(ctx.clock);
    }
    case 'faults': {
      if (method === 'GET') return jsonReply(200, { faults: ctx.faults.snapshot() });
      if (method === 'DELETE') {
        ctx.faults.clear();
        return emptyReply(204);
      }
      if (method !== 'POST') return allow('GET, POST, DELETE');
      const parsed = parseJsonBody(body);
      if (!parsed.ok) return parsed.reply;
      const b = parsed.value;
      if (!isObject(b)) return adminError(400, 'Send {"route": "<route name>" | "*", "faults": [ ... ]}');
      try {
        const target = parseFaultTarget(b.route, 'route');
        ctx.faults.add(target, parseFaults(b.faults, 'faults'));
      } catch (e) {
        return adminError(400, (e as Error).message);
      }
      return jsonReply(200, { faults: ctx.faults.snapshot() });
    }
    case 'state':
      if (method === 'GET') return jsonReply(200, ctx.state.snapshot(ctx.clock.now()));
      return allow('GET');
    case 'settings': {
      if (method === 'GET') return jsonReply(200, settingsJson(ctx.state.settings));
      if (method !== 'POST') return allow('GET, POST');
      const parsed = parseJsonBody(body);
      if (!parsed.ok) return parsed.reply;
      try {
        applySettings(ctx.state.settings, parseSettings(parsed.value, 'settings'));
      } catch (e) {
        return adminError(400, (e as Error).message);
      }
      return jsonReply(200, settingsJson(ctx.state.settings));
    }
    case 'registrations/ack':
      if (method !== 'POST') return allow('POST');
      return acknowledge(body, ctx);
    default:
      return adminError(404, `No admin resource '/__emulator/${resource.slice(0, 100)}'; use log, clock, faults, state, settings or registrations/ack`);
  }
}

/** `POST /__emulator/registrations/ack`. */
function acknowledge(body: Buffer, ctx: AdminContext): Reply {
  const usage = 'send {"keyId": "<key id or alias>", "resourceCrn": "crn:v1:..."} (both optional; {} acknowledges every registration)';
  const parsed = body.length === 0 ? { ok: true as const, value: {} } : parseJsonBody(body);
  if (!parsed.ok) return parsed.reply;
  const b = parsed.value;
  if (!isObject(b)) return adminError(400, `body: invalid value ${show(b)}: ${usage}`);
  for (const k of Object.keys(b)) {
    if (k !== 'keyId' && k !== 'resourceCrn') return adminError(400, `"${k.slice(0, 40)}": unknown field: ${usage}`);
  }
  const filter: { keyId?: string; resourceCrn?: string } = {};
  for (const k of ['keyId', 'resourceCrn'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '' || v.length > 1000) return adminError(400, `"${k}": invalid value ${show(v)}: use a non-empty string; ${usage}`);
    filter[k] = v;
  }
  if (filter.keyId !== undefined && !ctx.state.hasKeyRef(filter.keyId)) {
    return adminError(404, `"keyId": invalid value ${show(filter.keyId)}: no seeded key has this id or alias; see GET /__emulator/state`);
  }
  const now = ctx.clock.now();
  const matched = ctx.state.acknowledge(filter, now);
  if (matched.length === 0) {
    return adminError(404, `No registration matches ${show(filter)}; check "resourceCrn" against GET /__emulator/state (the CRN must match exactly)`);
  }
  return jsonReply(200, {
    acknowledged: matched.length,
    registrations: matched.map((r) => {
      const v = ctx.state.registrationVersion(r.key, r);
      return { keyId: r.keyId, resourceCrn: r.resourceCrn, keyVersion: { id: v.id, creationDate: new Date(v.creationDate).toISOString() } };
    }),
  });
}
