/** Small hand-made labelled sets for model tests (English and Chinese), and a quick model trained on them. */
import { Trainer, ShuffleBuffer, seededRandom, DEFAULT_TRAIN, type Label, type TrainOptions } from '../../src/model/train.js';

export const EN: [Label, string][] = [
  ['spam', 'WINNER! You have won a 1000 cash prize. Call 09061701461 now to claim'],
  ['spam', 'FREE entry into our weekly draw, txt WIN to 80086 now'],
  ['spam', 'Congratulations you won a free holiday, call now to claim your prize'],
  ['spam', 'URGENT your mobile number has won a 2000 bonus, call 09050000301'],
  ['spam', 'Claim your free ringtone now! Text TONE to 87121, 150p per msg'],
  ['spam', 'You are a winner! Reply CLAIM to get your cash prize today'],
  ['spam', 'Free msg: win a brand new phone, txt PHONE to 81010 now'],
  ['spam', 'Cash prize waiting, call now from landline to claim, T&C apply'],
  ['ham', 'Are we still meeting for lunch tomorrow?'],
  ['ham', 'I will be home late tonight, do not wait for dinner'],
  ['ham', 'Can you pick up some milk on your way back'],
  ['ham', 'Happy birthday mum, see you on Sunday'],
  ['ham', 'The meeting moved to 3pm, room 2'],
  ['ham', 'Thanks for yesterday, it was really nice to see you'],
  ['ham', 'ok see you at the station at six'],
  ['ham', 'Did you finish the report for Monday?'],
  ['ham', 'I am running a bit late, stuck in traffic'],
  ['ham', 'Let me know when you get home safe'],
];

/** Chinese A2P-style spam (gambling, loans, fake prizes) and ordinary personal or service messages. */
export const ZH: [Label, string][] = [
  ['spam', '恭喜您中奖了！请点击链接领取888元现金红包'],
  ['spam', '【澳门赌场】注册即送彩金，日赚万元，加微信详谈'],
  ['spam', '无抵押贷款，当天放款，额度高利息低，回复1咨询'],
  ['spam', '您的账户积分即将清零，点击链接兑换现金大礼'],
  ['spam', '高薪兼职刷单，日结工资，加QQ了解详情'],
  ['spam', '恭喜获得免费iPhone，点击领取奖品，仅限今天'],
  ['spam', '网上赌场真人荷官，充值送彩金，注册即送'],
  ['spam', '低息贷款秒批，无需抵押，加微信办理'],
  ['ham', '妈，我今天晚上回家吃饭'],
  ['ham', '明天上午十点开会，请准时参加'],
  ['ham', '你的快递已经放在门卫室了，记得去拿'],
  ['ham', '周末一起去爬山吗？天气预报说是晴天'],
  ['ham', '我到机场了，一会儿给你打电话'],
  ['ham', '谢谢你昨天的帮忙，改天请你吃饭'],
  ['ham', '孩子今天发烧了，我请假在家照顾他'],
  ['ham', '报告我已经发到你邮箱了，请查收'],
];

export function tsvOf(rows: readonly [Label, string][]): string {
  return `label\ttext\n${rows.map(([l, t]) => `${l}\t${t}`).join('\n')}\n`;
}

/** Trains in memory as `smppguard model train` does (passes, seeded shuffle). */
export function trainOn(rows: readonly [Label, string][], o: Partial<TrainOptions> = {}): Trainer {
  const t = new Trainer({ ...DEFAULT_TRAIN, name: 'test', epochs: 20, ...o });
  const random = seededRandom(t.opts.seed);
  for (let e = 0; e < t.epochs; e++) {
    t.beginEpoch(e);
    const b = new ShuffleBuffer<[Label, string]>(1000, random);
    for (const r of rows) {
      t.see(r[0], r[1]);
      b.push(r);
    }
    for (const [l, x] of b.drain()) t.learn(l, x);
  }
  return t;
}
