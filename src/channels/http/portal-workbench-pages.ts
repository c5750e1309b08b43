import type { ProfileEntry, ProfileTextError } from '../../config/profile-files.js';
import type { FoundProblem, Sample } from '../../pipeline/workbench.js';
import { esc, page } from './portal-pages.js';
import { locationInWords } from './portal-supplier-pages.js';

/**
 * The mapping workbench's pages (decision 0035), for partner managers and admins: the profiles, and
 * one profile's editor with a sample's source, canonical result and errors side by side, the diff of
 * outputs and the save form. Plain HTML that works without a script; the editor script enhances it.
 */

const NAV = '<nav><a href="/portal/">Portal</a> <a href="/portal/mappings">Mapping profiles</a></nav>\n';

export function profileListPage(profiles: readonly ProfileEntry[]): string {
  const rows = profiles.map(
    (p) =>
      `<tr><td><a href="/portal/mappings/${esc(p.id)}">${esc(p.id)}</a></td><td>${esc(p.folder)}</td><td>${esc(p.direction)}</td>` +
      `<td>${esc(p.type)}</td><td>${p.version}</td><td><code>${esc(p.file)}</code></td></tr>`,
  );
  return page(
    'Mapping profiles',
    `${NAV}<h1>Mapping profiles</h1>
<p>Every profile the gateway runs, from the files under <code>mappings/</code>. Open one to try it on a sample, edit it and save a new version.</p>
<div class="scroll"><table><caption>${profiles.length} profile(s)</caption>
<thead><tr>${['Profile', 'Partner (folder)', 'Direction', 'Type', 'Version', 'File'].map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`,
    { wide: true },
  );
}

/** What a tried sample gave: its source lines, the canonical output and the problems. */
export interface TriedSample {
  name: string;
  lines: string[];
  output: unknown;
  found: FoundProblem[];
}

/** One sample's changes between the active version and the edited text. */
export interface SampleDiff {
  name: string;
  changes: string[];
}

export interface ProfilePageView {
  profile: ProfileEntry;
  csrfToken: string;
  /** The text in the editor: the file's, or what was posted. */
  text: string;
  /** The hash of the file's text when the page was first opened (kept through tries and diffs). */
  hash: string;
  samples: readonly Sample[];
  picked?: string | undefined;
  pasted?: string | undefined;
  /** A refusal of the whole form (stale file, no sample chosen). */
  refusal?: { code: string; message: string } | undefined;
  textError?: ProfileTextError | undefined;
  tried?: TriedSample | undefined;
  diffs?: SampleDiff[] | undefined;
  saved?: number | undefined;
}

export function profilePage(v: ProfilePageView): string {
  const p = v.profile;
  const saved = v.saved ? `<p role="status"><strong>Saved as version ${v.saved}</strong>; the gateway runs it now.</p>\n` : '';
  return page(
    p.id,
    `${NAV}<h1>Mapping profile ${esc(p.id)}</h1>
${saved}${v.refusal ? refusalBlock(v.refusal) : ''}<dl>
<dt>Partner (folder)</dt><dd>${esc(p.folder)}</dd>
<dt>Direction</dt><dd>${esc(p.direction)}</dd>
<dt>Type</dt><dd>${esc(p.type)}</dd>
<dt>Active version</dt><dd>${p.version}</dd>
<dt>File</dt><dd><code>${esc(p.file)}</code></dd>
</dl>
${editorForm(v)}${v.textError ? textErrorBlock(v.textError) : ''}${v.tried ? triedBlock(v.tried) : ''}${v.diffs ? diffBlock(v.diffs) : ''}`,
    { wide: true, scripts: ['/portal/assets/workbench.js'] },
  );
}

function refusalBlock(r: { code: string; message: string }): string {
  return `<div class="error" role="alert"><p><code>${esc(r.code)}</code>: ${esc(r.message)}</p></div>\n`;
}

function textErrorBlock(e: ProfileTextError): string {
  const where = e.line ? `line ${e.line}${e.column ? `, column ${e.column}` : ''}` : 'the profile';
  return `<section aria-labelledby="profile-error"><h2 id="profile-error">The edited profile does not load</h2>
<div class="error" role="alert"><p><code>${esc(e.code)}</code> at <strong>${esc(where)}</strong>: ${esc(e.message)}</p></div>
<p>Nothing was saved; the gateway keeps running the active version.</p></section>\n`;
}

function sampleOptions(v: ProfilePageView): string {
  const option = (s: Sample) => `<option value="${esc(s.key)}"${s.key === v.picked ? ' selected' : ''}>${esc(s.label)}</option>`;
  return [`<option value="">(none: paste or upload below)</option>`, ...v.samples.map(option)].join('\n');
}

function editorForm(v: ProfilePageView): string {
  const next = v.profile.version + 1;
  return `<form method="post" action="/portal/mappings/${esc(v.profile.id)}" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="${esc(v.csrfToken)}">
<input type="hidden" name="hash" value="${esc(v.hash)}">
<label for="profile-text" id="profile-text-label">Profile YAML</label>
<textarea id="profile-text" name="text" data-editor="yaml" rows="24" spellcheck="false">${esc(v.text)}</textarea>
<fieldset><legend>Sample</legend>
<label for="pick">One of the profile's samples or the partner's recent messages</label>
<select id="pick" name="pick">
${sampleOptions(v)}
</select>
<label for="pasted">Or paste a sample</label>
<textarea id="pasted" name="pasted" rows="6" spellcheck="false">${esc(v.pasted ?? '')}</textarea>
<label for="file">Or upload a sample file</label>
<input id="file" name="file" type="file">
</fieldset>
<button type="submit" name="action" value="try" formnovalidate>Try the sample</button>
<button type="submit" name="action" value="diff" formnovalidate>Show what changes</button>
<fieldset><legend>Save</legend>
<label><input type="checkbox" name="confirm" value="yes" required style="width:auto"> I have looked at what changes; save as version ${next}</label>
<button type="submit" name="action" value="save">Save version ${next}</button>
</fieldset>
</form>
`;
}

function sourceBlock(lines: readonly string[]): string {
  const rows = lines.map((l, i) => `<tr><td>${i + 1}</td><td><code>${esc(l)}</code></td></tr>`);
  return `<div class="scroll"><table><caption>Source</caption><thead><tr><th scope="col">Line</th><th scope="col">Text</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function problemsBlock(found: readonly FoundProblem[]): string {
  if (!found.length) return '<p>No errors.</p>';
  const rows = found.map(
    (x) =>
      `<tr><td><code>${esc(x.code)}</code></td><td>${locationInWords(x.location)}${x.source ? ` (${esc(x.source)})` : ''}</td><td>${esc(x.message)}</td></tr>`,
  );
  return `<div class="scroll"><table><caption>Errors</caption>
<thead><tr><th scope="col">Code</th><th scope="col">Where</th><th scope="col">Problem</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function triedBlock(t: TriedSample): string {
  const output = typeof t.output === 'string' ? t.output : JSON.stringify(t.output, null, 2);
  return `<section aria-labelledby="tried"><h2 id="tried">The edited profile on ${esc(t.name)}</h2>
<div class="side">
<div><h3>Source tree</h3>${sourceBlock(t.lines)}</div>
<div><h3>Canonical result</h3><pre class="scroll">${esc(output ?? '')}</pre></div>
<div><h3>Errors</h3>${problemsBlock(t.found)}</div>
</div></section>\n`;
}

function diffBlock(diffs: readonly SampleDiff[]): string {
  const items = diffs.map(
    (d) =>
      `<li><strong>${esc(d.name)}</strong>: ${d.changes.length ? `${d.changes.length} change(s)` : 'unchanged'}` +
      (d.changes.length ? `<pre class="scroll">${esc(d.changes.join('\n'))}</pre>` : '') +
      '</li>',
  );
  const changed = diffs.filter((d) => d.changes.length).length;
  return `<section aria-labelledby="diff"><h2 id="diff">What changes: active version → edited text</h2>
<p>${changed} of ${diffs.length} sample(s) change.</p>
<ul>
${items.join('\n')}
</ul></section>\n`;
}
