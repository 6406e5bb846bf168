/** Types of prerequisites.mjs (plain JavaScript, as the test command runs it before any build). */
export interface NeededCommand {
  readonly command: string;
  readonly pkg: string;
  readonly why: string;
}
export declare const COMMANDS: readonly NeededCommand[];
export declare const LIBRARY_PACKAGES: Readonly<Record<string, string>>;
export declare function onPath(command: string, searchPath?: string): boolean;
export declare function missingLibraries(lddOutput: string): string[];
export type Plan =
  | { action: 'none' }
  | { action: 'install'; packages: string[]; reasons: string[] }
  | { action: 'stop'; message: string };
export declare function plan(missing: { commands: readonly NeededCommand[]; libraries: readonly string[]; root: boolean; aptGet: boolean }): Plan;
