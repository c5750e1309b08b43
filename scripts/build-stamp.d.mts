/** Types of build-stamp.mjs for the tests that import it. */
export function inputsHash(): string;
export function buildIsCurrent(): boolean;
