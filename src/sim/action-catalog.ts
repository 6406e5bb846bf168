/**
 * The manager actions the simulator lists in `ListCommands` and checks write permissions
 * against, also for the actions it lists but does not implement (those then answer
 * "Invalid/unknown command"). The table itself is shared with amiplex: src/ami/action-classes.ts.
 */
import { ACTION_CLASSES, actionClassEntry, type ActionClassEntry } from '../ami/action-classes.js';

export type CatalogEntry = ActionClassEntry;

export const ACTION_CATALOG: readonly CatalogEntry[] = ACTION_CLASSES;

/** The catalog entry of an action name (case-insensitive, as Asterisk matches them). */
export const catalogEntry = actionClassEntry;

/** The `Name: Synopsis  (Priv: …)` line ListCommands prints for an entry. */
export function catalogLine(e: CatalogEntry): string {
  return `${e.name}: ${e.synopsis}  (Priv: ${e.privilege})`;
}
