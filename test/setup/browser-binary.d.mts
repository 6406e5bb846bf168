/** Types of browser-binary.mjs (plain JavaScript, as the test command runs it before any build). */
export declare function browserFiles(): { version: string; bin: string; cache: string; executable: string; fonts: string; fontconfig: string };
export declare function testBrowser(): Promise<{ executablePath: string; env: Record<string, string | undefined> }>;
