/**
 * The portal's mapping workbench editor (decision 0035): CodeMirror 6 over the page's plain
 * textarea, which stays the form field. Bundled by scripts/build-assets.mjs at `npm install` /
 * `npm run build` and served by the gateway at /portal/assets/workbench.js; the page works without it.
 * Completion offers the property names src/config/mapping.schema.json allows where the cursor is.
 */
import { autocompletion } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { basicSetup, EditorView } from 'codemirror';
import schema from '../../../config/mapping.schema.json';

/** The schema node a `$ref` names (only local definitions are used). */
function resolve(node) {
  let n = node;
  while (n && typeof n.$ref === 'string') n = schema.definitions[n.$ref.replace('#/definitions/', '')];
  return n;
}

/** The node and every branch of its anyOf/oneOf/allOf: where properties may be declared. */
function branches(node) {
  const n = resolve(node);
  if (!n || typeof n !== 'object') return [];
  return [n, ...['anyOf', 'oneOf', 'allOf'].flatMap((k) => (n[k] ?? []).flatMap(branches))];
}

/** The schema of the value at a path of keys: a property, a map's values, or a list's items. */
function childOf(node, key) {
  for (const b of branches(node)) {
    const item = resolve(b.items) ?? b;
    for (const c of branches(item)) {
      if (c.properties?.[key]) return c.properties[key];
      if (c.additionalProperties && typeof c.additionalProperties === 'object') return c.additionalProperties;
    }
  }
  return undefined;
}

function propertiesOf(node) {
  const out = new Map();
  for (const b of branches(node)) {
    for (const c of branches(resolve(b.items) ?? b)) for (const [k, v] of Object.entries(c.properties ?? {})) if (!out.has(k)) out.set(k, resolve(v));
  }
  return out;
}

/** The keys above a line, read from indentation: `fields` › `orders` › `fields` for a rule's key. */
function pathAt(state, pos) {
  const line = state.doc.lineAt(pos);
  let indent = /^[ -]*/.exec(line.text)[0].length;
  const path = [];
  for (let n = line.number - 1; n >= 1 && indent > 0; n--) {
    const m = /^( *)(?:- +)?([A-Za-z_$][\w$.-]*)\s*:\s*(#.*)?$/.exec(state.doc.line(n).text);
    if (m && m[1].length < indent) {
      path.unshift(m[2]);
      indent = m[1].length;
    }
  }
  return path;
}

function schemaCompletions(context) {
  const before = context.matchBefore(/^[ ]*(- +)?[\w$]*/);
  if (!before) return null;
  const word = context.matchBefore(/[\w$]*/);
  const node = pathAt(context.state, context.pos).reduce((n, key) => (n ? childOf(n, key) : undefined), schema);
  if (!node) return null;
  const options = [...propertiesOf(node)].map(([label, s]) => ({ label, apply: `${label}: `, type: 'property', info: s?.description }));
  return options.length ? { from: word ? word.from : context.pos, options, validFor: /^[\w$]*$/ } : null;
}

function enhance(textarea) {
  const label = document.querySelector(`label[for="${textarea.id}"]`);
  const view = new EditorView({
    doc: textarea.value,
    extensions: [
      basicSetup,
      yaml(),
      autocompletion({ override: [schemaCompletions] }),
      EditorView.contentAttributes.of(label?.id ? { 'aria-labelledby': label.id } : { 'aria-label': 'Profile YAML' }),
      // The textarea stays the form field: every change is copied into it.
      EditorView.updateListener.of((u) => {
        if (u.docChanged) textarea.value = u.state.doc.toString();
      }),
    ],
  });
  textarea.hidden = true;
  textarea.after(view.dom);
  view.dom.classList.add('workbench-editor');
  if (label) label.addEventListener('click', () => view.focus());
}

for (const t of document.querySelectorAll('textarea[data-editor="yaml"]')) enhance(t);
