// Reading what smtp-sink received: enough MIME for Herald's multipart/alternative mail. Shared
// by the browser test of the confirmation site (tests/site) and the window's end-to-end test
// (tests/window). No dependencies beyond node.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// ---- A small MIME reader: enough for Herald's multipart/alternative mail. ----

/** Splits a message (or a part) into lower-cased, unfolded headers and its body. */
export function splitMessage(text) {
  const at = text.search(/\r?\n\r?\n/);
  assert.ok(at >= 0, 'a message without a blank line after its headers');
  const head = text.slice(0, at).replace(/\r?\n[ \t]+/g, ' ');
  const body = text.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function param(value, name) {
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

function decodeBody(body, encoding = '7bit') {
  switch (encoding.toLowerCase()) {
    case 'quoted-printable': {
      const soft = body.replace(/=\r?\n/g, '');
      const bytes = [];
      for (let i = 0; i < soft.length; i++) {
        const hex = soft.slice(i + 1, i + 3);
        if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
        } else {
          bytes.push(...Buffer.from(soft[i], 'utf8'));
        }
      }
      return Buffer.from(bytes).toString('utf8');
    }
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

/** The decoded text/plain part of a message, multipart or not. */
export function plainText(text) {
  const { headers, body } = splitMessage(text);
  const type = (headers['content-type'] ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = param(headers['content-type'], 'boundary');
    assert.ok(boundary, 'a multipart message without a boundary');
    const sections = body.split(new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?\\n?`));
    for (const section of sections.slice(1)) {
      if (!section.trim()) continue;
      const found = plainText(section);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!type.startsWith('text/plain')) return undefined;
  return decodeBody(body, headers['content-transfer-encoding']);
}

/**
 * The message smtp-sink received for `to` in `mailDir`: its headers, text part, the invitation
 * link to `site` in it, and when it arrived.
 */
export function receivedMail(mailDir, site, to) {
  for (const name of readdirSync(mailDir)) {
    const file = join(mailDir, name);
    const text = readFileSync(file, 'utf8');
    const { headers } = splitMessage(text);
    // smtp-sink puts the envelope (X-Rcpt-Args) before the message's own headers.
    if (!(headers['to'] ?? '').includes(to) && !(headers['x-rcpt-args'] ?? '').includes(to)) continue;
    const body = plainText(text);
    assert.ok(body, `the mail to ${to} has no text/plain part`);
    const escaped = site.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const link = new RegExp(`${escaped}/i/[A-Za-z0-9._~-]+`).exec(body)?.[0];
    assert.ok(link, `no ${site}/i/<token> link in the mail to ${to}:\n${body}`);
    return { headers, body, link, arrived: statSync(file).mtimeMs };
  }
  assert.fail(`smtp-sink received no mail for ${to} (files: ${readdirSync(mailDir).join(', ')})`);
}

