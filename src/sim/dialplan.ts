/**
 * The simulated dialplan: context `test` exactly as the captures' Asterisk had it (the
 * README describes it and `ShowDialPlan`/`dialplan show test` list it), plus `from-internal`
 * for the background traffic (`_1XXX` dials the PJSIP endpoint of that number).
 */

export interface DialplanStep {
  readonly app: string;
  readonly data: string;
}

export interface Extension {
  /** As written in the dialplan: `100`, `h`, `_5XX`. */
  readonly pattern: string;
  readonly steps: readonly DialplanStep[];
}

function ext(pattern: string, ...steps: Array<[string, string]>): Extension {
  return { pattern, steps: steps.map(([app, data]) => ({ app, data })) };
}

const TEST: readonly Extension[] = [
  ext('100', ['NoOp', 'AMI test call 100'], ['Answer', ''], ['Wait', '1'], ['Hangup', '']),
  ext('200', ['Answer', ''], ['UserEvent', 'TestEvent,Foo: bar'], ['Wait', '2'], ['Hangup', '']),
  ext('300', ['Answer', ''], ['Set', 'TIMEOUT(absolute)=10'], ['Echo', ''], ['Hangup', '']),
  ext('400', ['Answer', ''], ['Playback', 'custom/tone'], ['Hangup', '']),
  ext('450', ['Answer', ''], ['MusicOnHold', 'default,5'], ['Hangup', '']),
  ext('600', ['Dial', 'Local/100@test,10'], ['Hangup', '']),
  ext('610', ['Dial', 'Local/503@test,10'], ['Hangup', '']),
  ext('666', ['Busy', '3']),
  ext('667', ['Congestion', '3']),
  ext('668', ['Ringing', ''], ['Wait', '30'], ['Hangup', '']),
  ext(
    '700',
    ['Answer', ''],
    ['Verbose', '1,AMI test 700 on ${CHANNEL}'],
    ['Set', 'FOO=bar'],
    ['Set', 'CDR(userfield)=ami-test'],
    ['Wait', '1'],
    ['Hangup', ''],
  ),
  ext('h', ['NoOp', 'hangup handler ${CHANNEL} cause ${HANGUPCAUSE}']),
  ext('_5XX', ['Answer', ''], ['Wait', '${EXTEN:1}'], ['Hangup', '']),
  ext(
    '_9XX',
    ['Answer', ''],
    ['Set', 'i=0'],
    ['While', '$[${i} < ${EXTEN:1}]'],
    ['Originate', 'Local/100@test,app,Wait,2,,30,a'],
    ['Set', 'i=$[${i} + 1]'],
    ['EndWhile', ''],
    ['Wait', '1'],
    ['Hangup', ''],
  ),
];

const FROM_INTERNAL: readonly Extension[] = [ext('_1XXX', ['Dial', 'PJSIP/${EXTEN},30'], ['Hangup', ''])];

const CONTEXTS: ReadonlyMap<string, readonly Extension[]> = new Map([
  ['test', TEST],
  ['from-internal', FROM_INTERNAL],
]);

/** Whether `exten` matches an extension pattern (`_` patterns: X, Z, N, [..], `.`, `!`). */
export function matchesPattern(pattern: string, exten: string): boolean {
  if (!pattern.startsWith('_')) return pattern === exten;
  let i = 0;
  const p = pattern.slice(1);
  for (let j = 0; j < p.length; j++) {
    const c = p[j]!;
    if (c === '.') return i < exten.length;
    if (c === '!') return true;
    const e = exten[i];
    if (e === undefined) return false;
    if (c === 'X' || c === 'x') {
      if (e < '0' || e > '9') return false;
    } else if (c === 'Z' || c === 'z') {
      if (e < '1' || e > '9') return false;
    } else if (c === 'N' || c === 'n') {
      if (e < '2' || e > '9') return false;
    } else if (c === '[') {
      const close = p.indexOf(']', j);
      if (close < 0) return false;
      if (!charClass(p.slice(j + 1, close), e)) return false;
      j = close;
    } else if (c !== e) {
      return false;
    }
    i++;
  }
  return i === exten.length;
}

function charClass(set: string, ch: string): boolean {
  for (let k = 0; k < set.length; k++) {
    const a = set[k]!;
    if (set[k + 1] === '-' && k + 2 < set.length) {
      if (ch >= a && ch <= set[k + 2]!) return true;
      k += 2;
    } else if (a === ch) {
      return true;
    }
  }
  return false;
}

export function hasContext(context: string): boolean {
  return CONTEXTS.has(context);
}

/** The extension `exten` runs in `context`: an exact match first, then patterns in order. */
export function findExtension(context: string, exten: string): Extension | undefined {
  const list = CONTEXTS.get(context);
  if (list === undefined) return undefined;
  return list.find((e) => e.pattern === exten) ?? list.find((e) => e.pattern.startsWith('_') && matchesPattern(e.pattern, exten));
}

/** What `Action: Command` / `dialplan show test` prints (as the captures' Asterisk did). */
export const DIALPLAN_SHOW_TEST: readonly string[] = [
  "[ Context 'test' created by 'pbx_config' ]",
  "  '100' =>          1. NoOp(AMI test call 100)                    [extensions.conf:15]",
  "                    2. Answer()                                   [extensions.conf:16]",
  "                    3. Wait(1)                                    [extensions.conf:17]",
  "                    4. Hangup()                                   [extensions.conf:18]",
  "  '200' =>          1. Answer()                                   [extensions.conf:21]",
  "                    2. UserEvent(TestEvent,Foo: bar)              [extensions.conf:22]",
  "                    3. Wait(2)                                    [extensions.conf:23]",
  "                    4. Hangup()                                   [extensions.conf:24]",
  "  '300' =>          1. Answer()                                   [extensions.conf:27]",
  "                    2. Set(TIMEOUT(absolute)=10)                  [extensions.conf:28]",
  "                    3. Echo()                                     [extensions.conf:29]",
  "                    4. Hangup()                                   [extensions.conf:30]",
  "  '400' =>          1. Answer()                                   [extensions.conf:33]",
  "                    2. Playback(custom/tone)                      [extensions.conf:34]",
  "                    3. Hangup()                                   [extensions.conf:35]",
  "  '450' =>          1. Answer()                                   [extensions.conf:38]",
  "                    2. MusicOnHold(default,5)                     [extensions.conf:39]",
  "                    3. Hangup()                                   [extensions.conf:40]",
  "  '600' =>          1. Dial(Local/100@test,10)                    [extensions.conf:48]",
  "                    2. Hangup()                                   [extensions.conf:49]",
  "  '610' =>          1. Dial(Local/503@test,10)                    [extensions.conf:52]",
  "                    2. Hangup()                                   [extensions.conf:53]",
  "  '666' =>          1. Busy(3)                                    [extensions.conf:56]",
  "  '667' =>          1. Congestion(3)                              [extensions.conf:57]",
  "  '668' =>          1. Ringing()                                  [extensions.conf:58]",
  "                    2. Wait(30)                                   [extensions.conf:59]",
  "                    3. Hangup()                                   [extensions.conf:60]",
  "  '700' =>          1. Answer()                                   [extensions.conf:63]",
  "                    2. Verbose(1,AMI test 700 on ${CHANNEL})      [extensions.conf:64]",
  "                    3. Set(FOO=bar)                               [extensions.conf:65]",
  "                    4. Set(CDR(userfield)=ami-test)               [extensions.conf:66]",
  "                    5. Wait(1)                                    [extensions.conf:67]",
  "                    6. Hangup()                                   [extensions.conf:68]",
  "  'h' =>            1. NoOp(hangup handler ${CHANNEL} cause ${HANGUPCAUSE}) [extensions.conf:80]",
  "  '_5XX' =>         1. Answer()                                   [extensions.conf:43]",
  "                    2. Wait(${EXTEN:1})                           [extensions.conf:44]",
  "                    3. Hangup()                                   [extensions.conf:45]",
  "  '_9XX' =>         1. Answer()                                   [extensions.conf:71]",
  "                    2. Set(i=0)                                   [extensions.conf:72]",
  "                    3. While($[${i} < ${EXTEN:1}])                [extensions.conf:73]",
  "                    4. Originate(Local/100@test,app,Wait,2,,30,a) [extensions.conf:74]",
  "                    5. Set(i=$[${i} + 1])                         [extensions.conf:75]",
  "                    6. EndWhile()                                 [extensions.conf:76]",
  "                    7. Wait(1)                                    [extensions.conf:77]",
  "                    8. Hangup()                                   [extensions.conf:78]",
  "",
  "-= 14 extensions (45 priorities) in 1 context. =-",
];
