/** The names of the output formats amiplex ships: what proxy.conf and ProxySetFormat accept. */
export const FORMAT_NAMES = ['standard', 'xml', 'csv', 'json'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];
