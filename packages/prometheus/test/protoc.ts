// Test support: the protobuf exposition judged by `protoc --decode` against Prometheus' own
// metrics.proto (fixtures/metrics.proto, from github.com/prometheus/client_model, Apache-2.0), and
// protoc's text output read back into plain objects. protoc comes from the Debian package
// protobuf-compiler; without it the tests skip with a message, unless MON_REQUIRE_PROMETHEUS=1
// (CI), where they fail instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
// google/protobuf/timestamp.proto, which metrics.proto imports, ships with protobuf-compiler here.
const INCLUDE = '/usr/include';

export const protocAvailable = spawnSync('protoc', ['--version']).status === 0 && existsSync(`${INCLUDE}/google/protobuf/timestamp.proto`);
if (!protocAvailable) {
  if (process.env.MON_REQUIRE_PROMETHEUS === '1') throw new Error('protoc is not on PATH and MON_REQUIRE_PROMETHEUS=1 (apt-get install -y protobuf-compiler)');
  console.warn('protoc is not on PATH: skipping the protobuf decoding checks (apt-get install -y protobuf-compiler; MON_REQUIRE_PROMETHEUS=1 fails instead)');
}

/** The messages of a length-delimited stream (a varint length before each). */
export function splitDelimited(stream: Uint8Array): Buffer[] {
  const messages: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    let length = 0;
    let shift = 0;
    for (;;) {
      const byte = stream[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    if (at + length > stream.length) throw new Error(`message of ${length} bytes runs past the end of the stream`);
    messages.push(Buffer.from(stream.subarray(at, at + length)));
    at += length;
  }
  return messages;
}

/** `protoc --decode=io.prometheus.client.MetricFamily` of one message: its text format, or a throw. */
export function protocDecode(message: Uint8Array): string {
  const result = spawnSync('protoc', ['--decode=io.prometheus.client.MetricFamily', `-I${FIXTURES}`, `-I${INCLUDE}`, 'metrics.proto'], {
    input: message,
  });
  if (result.status !== 0) throw new Error(`protoc --decode failed (${result.status}): ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** A decoded message: every field as a list (repeated or not), messages as nested objects. */
export interface TextMessage {
  [field: string]: Array<string | number | TextMessage>;
}

/** protoc's text format -> TextMessage. Strings are C-escaped bytes (octal for non-ASCII UTF-8). */
export function parseTextFormat(text: string): TextMessage {
  const stack: TextMessage[] = [{}];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const top = stack[stack.length - 1]!;
    if (line === '}') {
      stack.pop();
      continue;
    }
    const open = /^(\w+) \{$/.exec(line);
    if (open !== null) {
      const child: TextMessage = {};
      (top[open[1]!] ??= []).push(child);
      stack.push(child);
      continue;
    }
    const field = /^(\w+): (.*)$/.exec(line);
    if (field === null) throw new Error(`unexpected protoc output line: ${line}`);
    const value = field[2]!;
    (top[field[1]!] ??= []).push(value.startsWith('"') ? unescapeC(value.slice(1, -1)) : /^-?[\d.]|^-?inf|^nan/i.test(value) ? Number(value.replace(/^(-?)inf$/i, '$1Infinity')) : value);
  }
  return stack[0]!;
}

function unescapeC(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = text[++i]!;
    if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i))![0];
      bytes.push(parseInt(octal, 8));
      i += octal.length - 1;
    } else {
      bytes.push(({ n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92 } as Record<string, number>)[next] ?? next.charCodeAt(0));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
