/**
 * proxy.conf's eventfilter lines are checked with Asterisk's rules when the file is read: what
 * Asterisk would refuse (bad criteria, an unknown method, a regular expression that does not
 * compile) is an error with its FILE:LINE, never a filter silently dropped at run time.
 */
import { describe, expect, it } from 'vitest';

import { ConfigError, parseConfig } from '../src/config/index.js';

const SERVER = '[server pbx1]\nhost = 10.0.0.1\nusername = amiplex\nsecret = s\n';

function messageOf(text: string): string {
  try {
    parseConfig(text, 'proxy.conf');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('the configuration was accepted');
}

describe('eventfilter in proxy.conf', () => {
  it('accepts both forms and keeps them in file order', () => {
    const cfg = parseConfig(
      SERVER +
        '[user u]\nsecret = p\n' +
        'eventfilter = !Event: VarSet\n' +
        'eventfilter(action(exclude),name(Newexten)) =\n' +
        'eventfilter(action(include),header(Channel),method(starts_with)) = PJSIP/\n' +
        'eventfilter = Channel: (PJ)?SIP/(james|jim|john)-\n',
      'proxy.conf',
    );
    expect(cfg.users[0]!.eventFilter).toEqual([
      { expression: '!Event: VarSet' },
      { criteria: 'action(exclude),name(Newexten)', expression: '' },
      { criteria: 'action(include),header(Channel),method(starts_with)', expression: 'PJSIP/' },
      { expression: 'Channel: (PJ)?SIP/(james|jim|john)-' },
    ]);
  });

  it('reports each bad line as FILE:LINE with the reason', () => {
    const text =
      SERVER + // lines 1-4
      '[user u]\n' + // 5
      'secret = p\n' + // 6
      'eventfilter = Channel: PJSIP/(100\n' + // 7: regex does not compile
      'eventfilter(name(Hangup),method(startswith)) = PJSIP/\n' + // 8: unknown method
      'eventfilter(nme(Hangup)) =\n' + // 9: unknown option
      'eventfilter(name(Hangup)) = PJSIP/\n' + // 10: an expression with the default method none
      'eventfilter = !\n' + // 11: empty legacy filter
      'eventfilter(action(include),name(Hangup)) =\n'; // 12: fine
    const lines = messageOf(text).split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^proxy\.conf:7: bad value "Channel: PJSIP\/\(100" for eventfilter: the regular expression does not compile: unmatched "\("$/),
      "proxy.conf:8: bad value \"PJSIP/\" for eventfilter: 'method' option 'startswith' is unknown: expected one of regex, exact, starts_with, ends_with, contains, none (case matters)",
      "proxy.conf:9: bad value \"\" for eventfilter: filter option 'nme(Hangup)' is unknown: expected action(...), name(...), header(...) or method(...)",
      expect.stringMatching(/^proxy\.conf:10: bad value "PJSIP\/" for eventfilter: the method is none \(the default\) but an expression is given/),
      'proxy.conf:11: bad value "!" for eventfilter: a legacy eventfilter needs a regular expression',
    ]);
  });
});
