import type { XmlElement } from '../formats/xml/parse.js';
import type { PathCompiler, SourceNode, SourceValue } from './source.js';

/**
 * XML paths (see docs/mapping.md), XPath-like and small:
 *   `ShipNoticeHeader/@shipmentID`           attribute of the first matching element
 *   `ShipControl/CarrierIdentifier[@domain=SCAC]`   text of the first element whose attribute matches
 *   `InvoiceDetailItem[2]/UnitPrice/Money`   the second one (1-based)
 *   `/cXML/@payloadID`                       from the document root instead of the scope
 *   `../OrderReference/@orderID`             from the parent of the scope
 *   `.` or `@quantity`                       the scope's own text or attribute
 */
export interface XmlPath {
  absolute: boolean;
  steps: XmlStep[];
  attribute?: string;
}

interface XmlStep {
  name: string;
  attr?: { name: string; value?: string };
  index?: number;
}

const STEP = /^(\*|\.\.|\.|[A-Za-z_][\w.:-]*)((?:\[[^\]]+\])*)$/;
const PREDICATE = /\[([^\]]+)\]/g;

function compile(path: string, selector: boolean): XmlPath {
  let p = path.trim();
  const absolute = p.startsWith('/');
  if (absolute) p = p.slice(1);
  const parts = p === '' ? [] : p.split('/');
  let attribute: string | undefined;
  const last = parts.at(-1);
  if (last?.startsWith('@')) {
    if (selector) throw new Error(`"${path}" ends in an attribute; a selector must name elements`);
    attribute = last.slice(1);
    if (!/^[A-Za-z_][\w.:-]*$/.test(attribute)) throw new Error(`"${path}": "${last}" is not an attribute name`);
    parts.pop();
  }
  const steps = parts.map((part): XmlStep => {
    const m = STEP.exec(part);
    if (!m)
      throw new Error(`"${path}" is not an XML path; write e.g. ShipNoticeHeader/@shipmentID or ItemOut[@lineNumber=1]/ItemID/SupplierPartID (step "${part}")`);
    const step: XmlStep = { name: m[1] as string };
    for (const [, pred] of (m[2] ?? '').matchAll(PREDICATE)) {
      const predicate = (pred as string).trim();
      if (/^\d+$/.test(predicate)) step.index = Number(predicate);
      else {
        const a = /^@([A-Za-z_][\w.:-]*)(?:\s*=\s*(?:'([^']*)'|"([^"]*)"|([^'"\s]+)))?$/.exec(predicate);
        if (!a) throw new Error(`"${path}": predicate [${predicate}] is not [n], [@name] or [@name=value]`);
        step.attr = { name: a[1] as string, ...((a[2] ?? a[3] ?? a[4]) !== undefined ? { value: (a[2] ?? a[3] ?? a[4]) as string } : {}) };
      }
    }
    return step;
  });
  return { absolute, steps, ...(attribute ? { attribute } : {}) };
}

export const xmlPaths: PathCompiler<XmlPath> = {
  value: (path) => compile(path, false),
  selector: (path) => compile(path, true),
};

function select(from: XmlElement[], steps: XmlStep[]): XmlElement[] {
  let nodes = from;
  for (const step of steps) {
    if (step.name === '.') continue;
    const next: XmlElement[] = [];
    for (const n of nodes) {
      if (step.name === '..') {
        if (n.parent && !next.includes(n.parent)) next.push(n.parent);
        continue;
      }
      let matches = n.children.filter(
        (c) =>
          (step.name === '*' || c.name === step.name) &&
          (!step.attr || (step.attr.value === undefined ? step.attr.name in c.attributes : c.attributes[step.attr.name] === step.attr.value)),
      );
      if (step.index !== undefined) matches = matches.slice(step.index - 1, step.index);
      next.push(...matches);
    }
    nodes = next;
  }
  return nodes;
}

class XmlNode implements SourceNode<XmlPath> {
  constructor(
    readonly element: XmlElement,
    readonly root: XmlElement,
  ) {}

  get location() {
    return { xmlPath: this.element.path, line: this.element.line };
  }

  private start(path: XmlPath): XmlElement[] {
    if (!path.absolute) return select([this.element], path.steps);
    // The root element is the first step of an absolute path: /cXML/Header/...
    const [first, ...rest] = path.steps;
    if (!first || (first.name !== '*' && first.name !== this.root.name)) return [];
    return select([this.root], rest);
  }

  get(path: XmlPath): SourceValue | undefined {
    for (const el of this.start(path)) {
      const value = path.attribute !== undefined ? el.attributes[path.attribute]?.trim() : el.text;
      if (value) return { value, location: { xmlPath: path.attribute !== undefined ? `${el.path}/@${path.attribute}` : el.path, line: el.line } };
    }
    return undefined;
  }

  each(path: XmlPath): XmlNode[] {
    return this.start(path).map((el) => new XmlNode(el, this.root));
  }

  at(path: XmlPath): XmlNode | undefined {
    return this.each(path)[0];
  }
}

export function xmlRoot(doc: XmlElement): SourceNode<XmlPath> {
  return new XmlNode(doc, doc);
}
