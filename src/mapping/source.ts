import type { SourceLocation } from '../errors.js';

export type Scalar = string | number | boolean;

export interface SourceValue {
  value: Scalar;
  location: SourceLocation;
}

/**
 * A place in a parsed source document that mapping rules read from: the whole transaction set or
 * JSON body, an X12 HL level or loop, a JSON array element. Paths are compiled once per profile.
 */
export interface SourceNode<P = unknown> {
  location: SourceLocation;
  get(path: P): SourceValue | undefined;
  each(selector: P): SourceNode<P>[];
  at(selector: P): SourceNode<P> | undefined;
}

/** Compiles the path strings of one source format; throws Error with a human reason on bad syntax. */
export interface PathCompiler<P> {
  value(path: string): P;
  selector(path: string, until?: string[]): P;
}
