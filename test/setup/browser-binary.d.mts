/** Types of browser-binary.mjs (plain JavaScript, as the test command runs it before any build). */
export declare function browserFiles(): { source: string; executable: string; version: string };
export declare function browserExecutable(): Promise<string>;
