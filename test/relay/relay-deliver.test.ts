/**
 * SMSC → ESME through the relay: receipts routed by message id (and re-quoting a queued message's
 * gateway id), MO routed by destination prefix or number owner, keyword replies first, holding what
 * no receiver can take (and answering the SMSC only once it is stored), releasing held deliveries in
 * order, and the gateway's own receipts.
 */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodeEmpty } from '../../src/protocol/encode.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { parseReceiptText } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { findTlv, Tag } from '../../src/protocol/tlv.js';
import { head, settle, valueOf } from '../helpers/fake-link.js';
import { deliverResp, moPdu, rawPdu, receiptPdu } from '../helpers/pdus.js';
import { relayRig } from './helpers.js';

type Rig = Awaited<ReturnType<typeof relayRig>>;

/** The deliver_sm_resp the SMSC got, as [sequence, status]. */
const smscGot = (r: Rig) => r.smsc.take().map((p) => [head(p).command, head(p).sequence, head(p).status]);
const RESP = Command.deliver_sm_resp;

function viewOf(pdu: Buffer): MessageView {
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(v.reason);
  return v;
}

describe('receipts', () => {
  it("go to a receiver of the account that sent the message, under the session's sequence; its answer goes back under the SMSC's", async () => {
    const r = await relayRig();
    r.dlrMap.map('SMSC-5', 'esme');
    const { peer } = await r.esme('receiver');
    const receipt = receiptPdu(900, 'SMSC-5');
    r.smsc.send(receipt);
    await settle();
    const [d] = peer.take();
    expect(head(d!).command).toBe(Command.deliver_sm);
    expect(head(d!).sequence).not.toBe(900);
    expect(d!.subarray(16)).toEqual(receipt.subarray(16)); // byte-exact otherwise
    expect(r.smsc.take()).toEqual([]); // not before the ESME answers
    peer.send(deliverResp(head(d!).sequence, 0));
    await settle();
    expect(smscGot(r)).toEqual([[RESP, 900, 0]]);
    expect(await valueOf(r.metrics.receipts, { outcome: 'routed' })).toBe(1);
  });

  it('are matched by the id in the text when there is no receipted_message_id', async () => {
    const r = await relayRig();
    r.dlrMap.map('abc123', 'other');
    const esme = await r.esme('receiver');
    const other = await r.esme('receiver', 'other');
    r.smsc.send(receiptPdu(901, 'abc123', { tlv: false }));
    await settle();
    expect(esme.peer.take()).toEqual([]);
    expect(other.peer.take()).toHaveLength(1);
  });

  it('pass on the ESME refusing one, so a temporary error makes the SMSC retry', async () => {
    const r = await relayRig();
    r.dlrMap.map('SMSC-5', 'esme');
    const { peer } = await r.esme('transceiver');
    r.smsc.send(receiptPdu(902, 'SMSC-5'));
    await settle();
    const [d] = peer.take();
    peer.send(deliverResp(head(d!).sequence, Status.ESME_RX_T_APPN));
    await settle();
    expect(smscGot(r)).toEqual([[RESP, 902, Status.ESME_RX_T_APPN]]);
    expect(await valueOf(r.metrics.receipts, { outcome: 'refused' })).toBe(1);
    expect(r.held.of('esme')).toEqual([]);
  });

  it('with no mapping (or no id at all) are acknowledged and dropped', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('receiver');
    r.smsc.send(receiptPdu(903, 'unknown-id'));
    const noId = receiptPdu(904, 'x', { tlv: false });
    // Overwrite the text's "id:x" so no id is left anywhere.
    noId.write('ix', noId.indexOf('id:x'), 'latin1');
    r.smsc.send(noId);
    await settle();
    expect(smscGot(r)).toEqual([
      [RESP, 903, 0],
      [RESP, 904, 0],
    ]);
    expect(peer.take()).toEqual([]);
    expect(await valueOf(r.metrics.receipts, { outcome: 'unmatched' })).toBe(2);
  });

  it('mapped to an account that is not configured are acknowledged and dropped', async () => {
    const r = await relayRig();
    r.dlrMap.map('SMSC-9', 'gone');
    r.smsc.send(receiptPdu(905, 'SMSC-9'));
    await settle();
    expect(smscGot(r)).toEqual([[RESP, 905, 0]]);
    expect(r.held.lists.size).toBe(0);
  });

  it('ask the SMSC to retry (ESME_RX_T_APPN) when the mapping cannot be read', async () => {
    const r = await relayRig();
    r.dlrMap.failLookups = true;
    r.smsc.send(receiptPdu(906, 'SMSC-5'));
    await settle();
    expect(smscGot(r)).toEqual([[RESP, 906, Status.ESME_RX_T_APPN]]);
    expect(await valueOf(r.metrics.receipts, { outcome: 'deferred' })).toBe(1);
    expect(await valueOf(r.metrics.redisErrors, { op: 'dlr_lookup' })).toBe(1);
  });

  it("quote the gateway's id to the ESME for a queued message (text and receipted_message_id)", async () => {
    const r = await relayRig();
    r.dlrMap.map('SMSC-77', 'esme', 'Q00000000000000000001');
    const { peer } = await r.esme('receiver');
    r.smsc.send(receiptPdu(907, 'SMSC-77'));
    await settle();
    const [d] = peer.take();
    const v = viewOf(d!);
    expect(findTlv(v.tlvs, Tag.receipted_message_id)!.toString('latin1')).toBe('Q00000000000000000001\0');
    expect(parseReceiptText(v.shortMessage.toString('latin1'))!.id).toBe('Q00000000000000000001');
    peer.send(deliverResp(head(d!).sequence));
    await settle();
    expect(smscGot(r)).toEqual([[RESP, 907, 0]]);
  });
});

describe('MO', () => {
  it('goes to the account owning the longest matching destination prefix', async () => {
    const r = await relayRig({
      mo: [
        { prefix: '1069', account: 'other' },
        { prefix: '106900', account: 'esme' },
      ],
    });
    const esme = await r.esme('receiver');
    const other = await r.esme('receiver', 'other');
    r.smsc.send(moPdu(10, '8613800138000', '10690001', 'to esme'));
    r.smsc.send(moPdu(11, '8613800138000', '+10691234', 'to other'));
    await settle();
    expect(esme.peer.take().map((p) => viewOf(p).shortMessage.toString())).toEqual(['to esme']);
    expect(other.peer.take().map((p) => viewOf(p).shortMessage.toString())).toEqual(['to other']);
  });

  it('goes to the owner of a registered sender number when no prefix matches', async () => {
    const asked: [string, number][] = [];
    const r = await relayRig({
      mo: [],
      deps: { numberOwner: (addr, ton) => (asked.push([addr, ton]), addr === '95555' ? 'other' : null) },
    });
    const other = await r.esme('receiver', 'other');
    r.smsc.send(moPdu(12, '8613800138000', '95555'));
    await settle();
    expect(asked).toEqual([['95555', 1]]);
    expect(other.peer.take()).toHaveLength(1);
  });

  it('that no account owns is refused permanently (ESME_RX_R_APPN)', async () => {
    const r = await relayRig({ mo: [{ prefix: '1069', account: 'nobody-configured' }] });
    await r.esme('receiver');
    r.smsc.send(moPdu(13, '8613800138000', '99999'));
    r.smsc.send(moPdu(14, '8613800138000', '10690001'));
    await settle();
    expect(smscGot(r)).toEqual([
      [RESP, 13, Status.ESME_RX_R_APPN],
      [RESP, 14, Status.ESME_RX_R_APPN],
    ]);
    expect(await valueOf(r.metrics.mo, { outcome: 'unroutable' })).toBe(2);
  });

  it('is routed only once a keyword reply has been handled, and retried by the SMSC when it could not be stored', async () => {
    let finish!: (ok: boolean) => void;
    const handled: string[] = [];
    const r = await relayRig({
      deps: {
        replies: {
          handle: (view) => {
            handled.push(view.shortMessage.toString());
            return new Promise((resolve, reject) => (finish = (ok) => (ok ? resolve('opt_out') : reject(new Error('redis down')))));
          },
        },
      },
    });
    const { peer } = await r.esme('receiver');
    r.smsc.send(moPdu(15, '8613800138000', '10690001', 'TD'));
    await settle();
    expect(handled).toEqual(['TD']);
    expect(peer.take()).toEqual([]);
    finish(true);
    await settle();
    expect(peer.take()).toHaveLength(1);
    r.smsc.send(moPdu(16, '8613800138000', '10690001', 'STOP'));
    await settle();
    finish(false);
    await settle();
    expect(peer.take()).toEqual([]);
    expect(smscGot(r)).toEqual([[RESP, 16, Status.ESME_RX_T_APPN]]);
    expect(await valueOf(r.metrics.mo, { outcome: 'deferred' })).toBe(1);
  });

  it('that cannot be read is answered with the status naming the bad field', async () => {
    const r = await relayRig();
    r.smsc.send(rawPdu(Command.deliver_sm, 17, Buffer.from([0, 1, 1]))); // ends before source_addr
    await settle();
    expect(r.smsc.take()).toEqual([encodeEmpty(RESP, Status.ESME_RINVCMDLEN, 17)]);
    expect(await valueOf(r.metrics.malformed, { side: 'downstream', reason: 'source_addr' })).toBe(1);
  });
});

describe('holding', () => {
  it('stores a delivery no receiver is bound for, then acknowledges it to the SMSC and tells the other instances', async () => {
    const r = await relayRig();
    await r.esme('transmitter'); // bound, but cannot receive
    const mo = moPdu(20, '8613800138000', '10690001');
    r.smsc.send(mo);
    await settle();
    expect(r.held.of('esme')).toEqual([mo]);
    expect(smscGot(r)).toEqual([[RESP, 20, 0]]);
    expect(r.announced).toEqual(['esme']);
    expect(await valueOf(r.metrics.mo, { outcome: 'held' })).toBe(1);
  });

  it('asks the SMSC to retry when the delivery cannot be stored', async () => {
    const r = await relayRig();
    r.held.failHold = true;
    r.smsc.send(moPdu(21, '8613800138000', '10690001'));
    await settle();
    expect(smscGot(r)).toEqual([[RESP, 21, Status.ESME_RX_T_APPN]]);
    expect(await valueOf(r.metrics.redisErrors, { op: 'hold' })).toBe(1);
  });

  it("holds a delivery the receiver does not answer in time (the bytes as the SMSC sent them)", async () => {
    const r = await relayRig({ deliverTimeoutMs: 2000 });
    r.dlrMap.map('SMSC-5', 'esme');
    const { peer } = await r.esme('receiver');
    const receipt = receiptPdu(22, 'SMSC-5');
    r.smsc.send(receipt);
    await settle();
    expect(peer.take()).toHaveLength(1);
    r.clock.advance(2001);
    await settle();
    expect(r.held.of('esme')).toEqual([receipt]);
    expect(smscGot(r)).toEqual([[RESP, 22, 0]]);
  });

  it('releases held deliveries in order when a receiver binds, trimming what it acknowledged', async () => {
    const r = await relayRig();
    const held = [1, 2, 3].map((i) => moPdu(30 + i, '8613800138000', '10690001', `held ${i}`));
    for (const p of held) await r.held.hold('esme', p);
    const { peer } = await r.esme('receiver');
    await settle();
    const got = peer.take();
    expect(got.map((p) => viewOf(p).shortMessage.toString())).toEqual(['held 1', 'held 2', 'held 3']);
    for (const p of got) peer.send(deliverResp(head(p).sequence, 0));
    await settle();
    expect(r.held.of('esme')).toEqual([]);
    expect(r.held.acks).toEqual([['esme', 3]]);
    expect(await valueOf(r.metrics.mo, { outcome: 'released' })).toBe(3);
  });

  it('keeps everything from the first delivery the receiver refuses, for the next bind', async () => {
    const r = await relayRig();
    for (const i of [1, 2, 3]) await r.held.hold('esme', moPdu(i, '8613800138000', '10690001', `held ${i}`));
    const { peer } = await r.esme('receiver');
    await settle();
    const got = peer.take();
    peer.send(deliverResp(head(got[0]!).sequence, 0));
    peer.send(deliverResp(head(got[1]!).sequence, Status.ESME_RX_T_APPN));
    peer.send(deliverResp(head(got[2]!).sequence, 0));
    await settle();
    expect(r.held.acks).toEqual([['esme', 1]]);
    expect(r.held.of('esme').map((p) => viewOf(p).shortMessage.toString())).toEqual(['held 2', 'held 3']);
  });

  it('releases when another instance announces held deliveries, only if a receiver is bound here', async () => {
    const r = await relayRig();
    await r.held.hold('other', moPdu(1, '8613800138000', '10690001', 'for other'));
    r.relay.onHeldElsewhere('other');
    await settle();
    expect(r.held.of('other')).toHaveLength(1);
    const rx = await r.esme('receiver', 'other');
    const [first] = rx.peer.take(); // released on bind
    expect(viewOf(first!).shortMessage.toString()).toBe('for other');
    rx.peer.send(deliverResp(head(first!).sequence));
    await settle();
    expect(r.held.of('other')).toEqual([]);
    await r.held.hold('other', moPdu(2, '8613800138000', '10690001', 'later'));
    r.relay.onHeldElsewhere('other');
    await settle();
    expect(rx.peer.take().map((p) => viewOf(p).shortMessage.toString())).toEqual(['later']);
  });
});

describe("the gateway's own receipts (deliverOwn)", () => {
  it('go to a bound receiver and resolve once it acknowledges', async () => {
    const r = await relayRig();
    const { peer } = await r.esme('receiver');
    const pdu = receiptPdu(1, 'Q1');
    let done = false;
    const p = r.relay.deliverOwn('esme', pdu).then(() => void (done = true));
    await settle();
    const [d] = peer.take();
    expect(done).toBe(false);
    peer.send(deliverResp(head(d!).sequence));
    await p;
    expect(r.held.of('esme')).toEqual([]);
    expect(await valueOf(r.metrics.receipts, { outcome: 'generated' })).toBe(1);
  });

  it('are held when no receiver is bound, or it refuses them', async () => {
    const r = await relayRig();
    await r.relay.deliverOwn('other', receiptPdu(1, 'Q1'));
    expect(r.held.of('other')).toHaveLength(1);
    expect(r.announced).toEqual(['other']);
    const { peer } = await r.esme('receiver');
    const p = r.relay.deliverOwn('esme', receiptPdu(2, 'Q2'));
    await settle();
    const [d] = peer.take();
    peer.send(deliverResp(head(d!).sequence, Status.ESME_RX_T_APPN));
    await p;
    expect(r.held.of('esme')).toHaveLength(1);
  });

  it('reject when they can be neither delivered nor held', async () => {
    const r = await relayRig();
    r.held.failHold = true;
    await expect(r.relay.deliverOwn('esme', receiptPdu(1, 'Q1'))).rejects.toThrow('redis down');
  });
});
