/**
 * Name lists with `*` wildcards, as proxy.conf's actions, deny_actions, events and deny_events
 * take them: `*` is any run of characters, everything else is itself, case ignored, the whole
 * name must match. One list becomes one RegExp, built once. Pure.
 */

/** A predicate for "the name matches one of the patterns"; undefined for an empty or absent list. */
export function compileNameGlobs(patterns: readonly string[] | undefined): ((name: string) => boolean) | undefined {
  if (patterns === undefined || patterns.length === 0) return undefined;
  const alternatives = patterns.map((p) => p.split('*').map(escape).join('.*'));
  const re = new RegExp(`^(?:${alternatives.join('|')})$`, 'is');
  return (name) => re.test(name);
}

function escape(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}/-]/g, '\\$&');
}
